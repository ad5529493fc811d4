"""The seven CNNs: API, parameter counts, framework-free initial weights, same function in both
frameworks (real PyTorch and real MXNet forwards at each model's smallest input)."""

import ast
import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from edgebench import models
from edgebench.compat import import_mxnet
from tests.board.model_sizes import TEST_SIZES

mx = import_mxnet()

IMPLEMENTED = models.MODEL_NAMES


# The named reference implementation of each torchvision-defined architecture.
TORCHVISION = {
    "vgg16": lambda n: torchvision.models.vgg16(num_classes=n),
    "inception_v3": lambda n: torchvision.models.inception_v3(num_classes=n, aux_logits=False, init_weights=True),
    "resnet152": lambda n: torchvision.models.resnet152(num_classes=n),
    "densenet121": lambda n: torchvision.models.densenet121(num_classes=n),
    "squeezenet": lambda n: torchvision.models.squeezenet1_0(num_classes=n),
}

# Batch spread for the same-output test. AlexNet's LRN is nearly the identity for the small
# activations of unit-variance input, which would let a wrong alpha convention pass; pixel-scale
# input makes the normalization term dominate.
INPUT_STD = {"alexnet": 50.0}


@functools.lru_cache(maxsize=2)
def cached_initial_weights(name, size, seed):
    # The big models' starts take seconds to draw; several tests share one.
    return models.initial_weights(name, 10, input_size=size, seed=seed)


def torchvision_with(name, num_classes, weights=None):
    """Return the torchvision reference built on the meta device (no init cost), then
    given real tensors from weights when they are passed."""
    with torch.device("meta"):
        reference = TORCHVISION[name](num_classes)
    if weights is not None:
        reference.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True, assign=True)
    return reference


def param_count_torch(model) -> int:
    return sum(p.numel() for p in model.parameters())


def param_count_gluon(block) -> int:
    # Gluon counts BatchNorm running stats as parameters; torch keeps them as buffers.
    return sum(
        int(np.prod(p.shape))
        for name, p in models.convert.gluon_parameters(block).items()
        if not name.endswith(("running_mean", "running_var"))
    )


def perturbed_batchnorm(weights, seed):
    """Return weights with BatchNorm state moved off identity, so eps/stat mix-ups show."""
    rng = np.random.default_rng(seed)
    out = dict(weights)
    for key, value in weights.items():
        if key.endswith("running_var"):
            out[key] = rng.uniform(0.5, 2.0, value.shape).astype(np.float32)
            prefix = key[: -len("running_var")]
            out[prefix + "running_mean"] = rng.normal(0, 0.1, value.shape).astype(np.float32)
            out[prefix + "weight"] = rng.uniform(0.5, 1.5, value.shape).astype(np.float32)
            out[prefix + "bias"] = rng.normal(0, 0.1, value.shape).astype(np.float32)
    return out


def forward_both(name, size, weights, batch):
    torch_model = models.build("pytorch", name, 10, input_size=size)
    gluon_model = models.build("mxnet", name, 10, input_size=size)
    models.load_weights("pytorch", torch_model, weights)
    models.load_weights("mxnet", gluon_model, weights)
    torch_model.eval()
    with torch.no_grad():
        torch_out = torch_model(torch.from_numpy(batch)).numpy()
    gluon_out = gluon_model(mx.nd.array(batch)).asnumpy()  # outside autograd.record: eval mode
    return torch_model, gluon_model, torch_out, gluon_out


# ---------------------------------------------------------------- API and bad input


def test_names_and_frameworks():
    assert models.FRAMEWORKS == ("pytorch", "mxnet")
    assert models.MODEL_NAMES == tuple(models.ARCHITECTURES) and set(TEST_SIZES) == set(models.MODEL_NAMES)
    assert len(models.MODEL_NAMES) == 7


@pytest.mark.parametrize(
    "args, words",
    [
        (("tensorflow", "lenet", 10), ["tensorflow", "pytorch", "mxnet"]),
        (("pytorch", "lenet5", 10), ["lenet5", "alexnet", "squeezenet"]),
        (("mxnet", "alexnet", 10), ["62", "alexnet", "63"]),
    ],
)
def test_build_rejects_bad_arguments_by_name(args, words):
    kwargs = {"input_size": 62} if args[1] == "alexnet" else {}
    with pytest.raises(ValueError) as error:
        models.build(*args, **kwargs)
    for word in words:
        assert word in str(error.value)


def test_source_files_exist_and_mirror_each_other():
    for name in models.MODEL_NAMES:
        torch_files = models.source_files("pytorch", name)
        gluon_files = models.source_files("mxnet", name)
        assert torch_files[0].parent.name == "torch" and gluon_files[0].parent.name == "mxnet"
        assert torch_files[0].name == gluon_files[0].name
        if name in IMPLEMENTED:
            assert all(path.is_file() for path in torch_files + gluon_files)
    with pytest.raises(ValueError, match="caffe"):
        models.source_files("caffe", "lenet")


def test_source_files_cover_the_model_modules_each_model_imports():
    # An edit to a shared part of a model must rerun that model's training jobs.
    package = Path(models.__file__).parent
    for name in models.MODEL_NAMES:
        for framework in ("pytorch", "mxnet"):
            files = models.source_files(framework, name)
            imported = set()
            for node in ast.walk(ast.parse(files[0].read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("edgebench.models"):
                    parts = node.module.split(".")[2:]
                    for alias in node.names:
                        candidate = package.joinpath(*parts, f"{alias.name}.py")
                        imported.add(candidate if candidate.is_file() else package.joinpath(*parts).with_suffix(".py"))
            assert imported <= set(files), (framework, name, imported - set(files))


def runs_at(framework, name, size) -> bool:
    """Return whether the bare model (no size check) takes a size x size input."""
    try:
        if framework == "pytorch":
            with torch.no_grad():
                models.factory(framework, name)(10, size).eval()(torch.zeros(1, 3, size, size))
        else:
            block = models.factory(framework, name)(10, size)
            block.initialize(ctx=mx.cpu())
            block(mx.nd.zeros((1, 3, size, size))).wait_to_read()
        return True
    except (RuntimeError, ValueError, mx.base.MXNetError):
        return False


@pytest.mark.parametrize("name", IMPLEMENTED)
def test_min_input_size_is_the_smallest_that_runs(name):
    smallest = models.min_input_size(name)
    model = models.build("pytorch", name, 10, input_size=smallest).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, smallest, smallest)).shape == (1, 10)
    # (MXNet at the minimum is built in the parameter-count test.)
    if smallest > 1:
        with pytest.raises(ValueError, match=str(smallest)):
            models.build("pytorch", name, 10, input_size=smallest - 1)
        # One below, the architecture itself fails in at least one framework.
        assert not (runs_at("pytorch", name, smallest - 1) and runs_at("mxnet", name, smallest - 1))


# ---------------------------------------------------------------- parameter counts

# Counted by hand from the layer lists, for num_classes 1000.
KNOWN_COUNTS = {
    # conv 456 + 2,416; FC (16*5*5)x120 48,120 + 10,164 + 85,000
    ("lenet", 32): 146_156,
    # conv 34,944 + 614,656 + 885,120 + 1,327,488 + 884,992; FC 37,752,832 + 16,781,312 + 4,097,000
    ("alexnet", 224): 62_378_344,
}


@pytest.mark.parametrize("name, size", sorted(KNOWN_COUNTS))
def test_param_count_matches_the_paper_layer_list(name, size):
    model = models.build("pytorch", name, 1000, input_size=size)
    assert param_count_torch(model) == KNOWN_COUNTS[(name, size)]


@pytest.mark.parametrize("name", IMPLEMENTED)
def test_param_counts_agree_across_frameworks_and_with_torchvision(name):
    # MXNet needs a forward to prove its shapes: the smallest input keeps that cheap, and it
    # also shows the Gluon model accepts the documented minimum.
    size = models.min_input_size(name)
    for num_classes in (10, 1000):
        with torch.device("meta"):
            torch_count = param_count_torch(models.factory("pytorch", name)(num_classes, size))
        gluon_count = param_count_gluon(models.build("mxnet", name, num_classes, input_size=size))
        assert torch_count == gluon_count
        if name in TORCHVISION:
            assert torch_count == param_count_torch(torchvision_with(name, num_classes))


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_state_dict_layout_equals_torchvision(name):
    with torch.device("meta"):
        ours = models.factory("pytorch", name)(10, 224).state_dict()
    theirs = torchvision_with(name, 10).state_dict()
    assert [(k, tuple(v.shape)) for k, v in ours.items()] == [(k, tuple(v.shape)) for k, v in theirs.items()]


# ---------------------------------------------------------------- initial weights


@pytest.mark.parametrize("name", ["lenet", "alexnet", "squeezenet", "densenet121"])
def test_initial_weights_are_seeded_and_fit_torch_state_dict(name):
    size = TEST_SIZES[name]
    first = models.initial_weights(name, 10, input_size=size, seed=3)
    again = models.initial_weights(name, 10, input_size=size, seed=3)
    other = models.initial_weights(name, 10, input_size=size, seed=4)
    assert first.keys() == again.keys() == other.keys()
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not all(np.array_equal(first[k], other[k]) for k in first if first[k].size > 1)
    torch_model = models.build("pytorch", name, 10, input_size=size)
    assert list(first) == list(torch_model.state_dict())
    assert all(first[k].shape == tuple(v.shape) for k, v in torch_model.state_dict().items())
    # Drawing torch's RNG in between must not change anything: the start is numpy's alone.
    torch.manual_seed(123), torch.rand(10)
    assert all(np.array_equal(first[k], v) for k, v in models.initial_weights(name, 10, input_size=size, seed=3).items())


@pytest.mark.parametrize("name", models.MODEL_NAMES)
def test_both_definitions_give_the_same_layers_hence_the_same_start(name):
    # initial_weights draws from these lists in order: equal lists give equal weights.
    size = TEST_SIZES[name]
    assert models.layer_shapes(name, 10, size, "mxnet") == models.layer_shapes(name, 10, size, "pytorch")


def test_an_mxnet_run_never_imports_torch():
    # torch in an MXNet run would add its libraries to the RAM the run is measured with.
    probe = (
        "import sys, numpy as np\n"
        "from edgebench.train.backend import load_backend\n"
        "backend = load_backend('mxnet')('lenet', 10, 32, {'learning_rate': 0.01, 'momentum': 0.9,"
        " 'weight_decay': 0.0}, 0, False, 1)\n"
        "backend.train_step(np.zeros((2, 3, 32, 32), np.float32), np.array([0, 1]))\n"
        "backend.state_bytes()\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_torch_default_scheme_matches_torch_statistics():
    # LeNet/AlexNet take torch's default init; compare the drawn spread with torch's own draw.
    weights = models.initial_weights("alexnet", 10, input_size=63, seed=0)
    torch.manual_seed(0)
    reference = models.build("pytorch", "alexnet", 10, input_size=63).state_dict()
    for key in ("features.0.weight", "features.4.weight", "classifier.3.weight", "classifier.3.bias"):
        ours, theirs = weights[key], reference[key].numpy()
        assert abs(ours.max()) <= abs(theirs).max() * 1.001 + 1e-7
        assert ours.std() == pytest.approx(theirs.std(), rel=0.1)


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_reference_schemes_match_torchvision_initialization(name):
    # Every tensor torchvision sets to a constant must be that constant; every large random
    # tensor must have torchvision's spread (its draw and ours differ, their statistics don't).
    weights = models.initial_weights(name, 10, input_size=TEST_SIZES[name], seed=7)
    torch.manual_seed(0)
    reference = TORCHVISION[name](10).state_dict()
    checked_random = 0
    for key, theirs in reference.items():
        theirs, ours = theirs.numpy(), weights[key]
        if theirs.size > 1 and np.all(theirs == theirs.flat[0]):
            assert np.all(ours == theirs.flat[0]), key
        elif theirs.size >= 4000:
            assert ours.std() == pytest.approx(theirs.std(), rel=0.05), key
            assert abs(ours.mean()) < 0.05 * ours.std() + 1e-6, key
            checked_random += 1
    assert checked_random >= 5


def test_load_weights_rejects_a_dict_that_does_not_fit():
    weights = models.initial_weights("lenet", 10, input_size=32, seed=0)
    model = models.build("mxnet", "lenet", 10, input_size=32)
    wrong = dict(weights)
    wrong["classifier.4.weight"] = np.zeros((11, 84), np.float32)
    del wrong["features.0.bias"]
    wrong["features.9.weight"] = np.zeros(3, np.float32)
    for framework, target in (("mxnet", model), ("pytorch", models.build("pytorch", "lenet", 10, input_size=32))):
        with pytest.raises(ValueError) as error:
            models.load_weights(framework, target, wrong)
        message = str(error.value)
        assert "classifier.4.weight" in message and "features.0.bias" in message and "features.9.weight" in message


# ---------------------------------------------------------------- same function


def test_local_response_norm_follows_the_paper_formula_in_both_frameworks():
    from edgebench.models.mxnet import layers
    from edgebench.models.torch import alexnet

    # Large activations, where a wrong alpha convention would change the result a lot.
    x = np.random.default_rng(0).uniform(0, 30, (2, 8, 3, 3)).astype(np.float32)
    n, k, beta = alexnet.LRN_SIZE, alexnet.LRN_K, alexnet.LRN_BETA
    paper_alpha = 1e-4
    squares = np.pad(x**2, ((0, 0), (n // 2, n // 2), (0, 0), (0, 0)))
    window_sums = np.stack([squares[:, c : c + n].sum(axis=1) for c in range(x.shape[1])], axis=1)
    expected = x / (k + paper_alpha * window_sums) ** beta
    torch_lrn = torch.nn.LocalResponseNorm(n, alexnet.LRN_ALPHA, beta, k)
    gluon_lrn = layers.LocalResponseNorm(n, alexnet.LRN_ALPHA, beta, k)
    np.testing.assert_allclose(torch_lrn(torch.from_numpy(x)).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(gluon_lrn(mx.nd.array(x)).asnumpy(), expected, rtol=1e-5)
    assert np.abs(expected - x / k**beta).max() > 0.1  # the normalization is not negligible here


@pytest.mark.parametrize("name", IMPLEMENTED)
def test_same_output_in_both_frameworks_from_the_same_weights(name):
    size = TEST_SIZES[name]
    weights = perturbed_batchnorm(models.initial_weights(name, 10, input_size=size, seed=1), seed=2)
    std = INPUT_STD.get(name, 1.0)
    batch = np.random.default_rng(5).normal(0, std, (2, 3, size, size)).astype(np.float32)
    torch_model, gluon_model, torch_out, gluon_out = forward_both(name, size, weights, batch)
    if name in TORCHVISION:
        # Our PyTorch model is the reference architecture: same weights, same output.
        with torch.no_grad():
            reference_out = torchvision_with(name, 10, weights).eval()(torch.from_numpy(batch)).numpy()
        np.testing.assert_allclose(torch_out, reference_out, rtol=1e-5, atol=1e-6 * np.abs(reference_out).max())
    scale = np.abs(torch_out).max()
    assert scale > 0 and np.isfinite(scale)
    assert np.abs(torch_out - gluon_out).max() <= 1e-4 * scale
    # ...and the outputs depend on the input (not a constant net that would match trivially).
    assert np.abs(torch_out[0] - torch_out[1]).max() > 1e-3 * scale
    # The converter's other direction gives back exactly what was loaded.
    for framework, model in (("pytorch", torch_model), ("mxnet", gluon_model)):
        back = models.to_numpy_weights(framework, model)
        assert all(np.array_equal(back[k], weights[k]) for k in back)
