"""Input sides the model tests use, shared by test_models.py and test_models_training.py."""

# Input side used for the function tests: each model's minimum, or a little above where the
# minimum would reduce everything to 1x1 maps and hide spatial mistakes (padding, ceil_mode:
# SqueezeNet at 32 has a 6x6 map that ceil-mode pools to 3x3 where floor mode gives 2x2).
TEST_SIZES = {
    "lenet": 32,
    "alexnet": 67,
    "vgg16": 32,
    "inception_v3": 80,
    "resnet152": 32,
    "densenet121": 32,
    "squeezenet": 32,
}
