"""Train-step time of edgebench's models over the reference implementations, one run.

For each model and framework: the time of one training step (batch 4, SGD with momentum,
forward + cross-entropy + backward + update) of edgebench's model divided by the same step of
the reference (torchvision for PyTorch; Gluon's model_zoo where it has the same
architecture). edgebench's model starts from its run-time initial weights, and the reference
gets the same (model_zoo's where its parameters line up), so only the code differs: the
weights alone change step times (more or fewer subnormal floats). The two are timed alternately, step by step, so a
load change on a shared machine hits both; `ratio` is of the medians, `ratio_min` of the
fastest steps (the less disturbed by other processes). Goal (issue 3): ratio <= 1.05.

    python bench/models.py [--models vgg16,resnet152] [--frameworks pytorch] [--size 64] [--rounds 5] [--threads 1]
"""

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

from edgebench import models
from edgebench.compat import import_mxnet

BATCH = 4
NUM_CLASSES = 1000


def thesis_size(name: str) -> int:
    """Return the input side the thesis used (299 for Inception v3, else 224)."""
    return 299 if name == "inception_v3" else 224


def torchvision_reference(name: str):
    """Return the torchvision model of the same architecture, or None where there is none."""
    import torchvision

    builders = {
        "vgg16": lambda: torchvision.models.vgg16(num_classes=NUM_CLASSES),
        "inception_v3": lambda: torchvision.models.inception_v3(
            num_classes=NUM_CLASSES, aux_logits=False, init_weights=False
        ),
        "resnet152": lambda: torchvision.models.resnet152(num_classes=NUM_CLASSES),
        "densenet121": lambda: torchvision.models.densenet121(num_classes=NUM_CLASSES),
        "squeezenet": lambda: torchvision.models.squeezenet1_0(num_classes=NUM_CLASSES),
    }
    return builders[name]() if name in builders else None


def gluon_reference(name: str, size: int):
    """Return Gluon model_zoo's model of the same architecture, hybridized, or None."""
    # model_zoo's resnet152_v1 strides its bottleneck's first 1x1 conv (torchvision and
    # edgebench stride the 3x3 one), and its alexnet is the torchvision variant, not the
    # paper's: neither is the same network, so neither is a reference.
    mx = import_mxnet()
    zoo = {"vgg16": "vgg16", "inception_v3": "inceptionv3", "densenet121": "densenet121", "squeezenet": "squeezenet1.0"}
    if name not in zoo:
        return None
    block = mx.gluon.model_zoo.vision.get_model(zoo[name], classes=NUM_CLASSES)
    block.initialize(mx.init.Xavier(magnitude=2.0), ctx=mx.cpu())
    block(mx.nd.zeros((1, 3, size, size)))
    block.hybridize()
    return block


def copy_gluon_weights_by_order(source, target) -> bool:
    """Copy source's parameters into target where both list the same shapes in the same order.

    model_zoo names parameters its own way, but registers them in the same order as
    edgebench's mirror of torchvision; returns False (target untouched) where the lists differ.
    """
    ours = list(source.collect_params().values())
    theirs = list(target.collect_params().values())
    if [p.shape for p in ours] != [p.shape for p in theirs]:
        return False
    for mine, reference in zip(ours, theirs):
        reference.set_data(mine.data())
    return True


def torch_stepper(model, images, labels):
    """Return a function that runs one training step of a torch model."""
    import torch

    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9, weight_decay=5e-4)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    model.train()

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()  # forces the step to finish

    return step


def gluon_stepper(block, images, labels):
    """Return a function that runs one training step of a hybridized Gluon block."""
    mx = import_mxnet()
    trainer = mx.gluon.Trainer(block.collect_params(), "sgd", {"learning_rate": 1e-4, "momentum": 0.9, "wd": 5e-4})
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    x, y = mx.nd.array(images), mx.nd.array(labels)

    def step():
        with mx.autograd.record():
            loss = loss_fn(block(x), y)
        loss.backward()
        trainer.step(BATCH)
        return float(loss.mean().asscalar())  # waits for MXNet's asynchronous engine

    return step


def timed(step) -> float:
    """Return the seconds one call of step takes."""
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def compare(ours, reference, rounds: int, warmup: int) -> tuple[list, list]:
    """Return the step times (ours, reference), timed alternately."""
    for _ in range(warmup):
        ours()
        if reference:
            reference()
    ours_times, reference_times = [], []
    for i in range(rounds):
        # Alternate who goes first, so neither always runs on a warmer cache.
        pair = (ours, reference) if i % 2 == 0 else (reference, ours)
        for step in pair:
            if step is None:
                continue
            (ours_times if step is ours else reference_times).append(timed(step))
    return ours_times, reference_times


def measure(name: str, framework: str, size: int, rounds: int, warmup: int) -> tuple[list, list]:
    """Return (ours, reference) train-step seconds for one model in one framework."""
    rng = np.random.default_rng(0)
    images = rng.normal(0, 1, (BATCH, 3, size, size)).astype(np.float32)
    labels = rng.integers(0, NUM_CLASSES, BATCH)
    ours_model = models.build(framework, name, NUM_CLASSES, input_size=size)
    models.load_weights(framework, ours_model, models.initial_weights(name, NUM_CLASSES, input_size=size, seed=0))
    if framework == "pytorch":
        reference_model = torchvision_reference(name)
        if reference_model is not None:
            # The same weights in both: how many activations ReLU zeroes (and whether any
            # float underflows to a slow subnormal) depends on the weights, not on the code.
            reference_model.load_state_dict(ours_model.state_dict())
        ours = torch_stepper(ours_model, images, labels)
        reference = torch_stepper(reference_model, images, labels) if reference_model is not None else None
    else:
        reference_model = gluon_reference(name, size)
        if reference_model is not None and not copy_gluon_weights_by_order(ours_model, reference_model):
            print(f"({name}: model_zoo's parameters differ in order or shape; it keeps its own init)")
        ours = gluon_stepper(ours_model, images, labels)
        reference = gluon_stepper(reference_model, images, labels) if reference_model is not None else None
    return compare(ours, reference, rounds, warmup)


def main(argv=None) -> int:
    """Print the ratio table and return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(models.MODEL_NAMES))
    parser.add_argument("--frameworks", default=",".join(models.FRAMEWORKS))
    parser.add_argument("--size", type=int, default=None, help="input side (default: 224, 299 for Inception v3)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1,
                        help="compute threads per framework (one by default: steadier on a shared machine)")
    args = parser.parse_args(argv)
    # Both frameworks read the thread count before their first operation (MXNet at import).
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    print(f"batch {BATCH}, {NUM_CLASSES} classes, {args.threads} thread(s), "
          f"{args.rounds} alternating rounds after {args.warmup} warm-up steps")
    print(
        f"{'model':<13} {'framework':<9} {'input':>5} {'edgebench_s':>11} {'reference_s':>11} "
        f"{'ratio':>6} {'ratio_min':>9}  reference"
    )
    for name in args.models.split(","):
        size = args.size or thesis_size(name)
        size = max(size, models.min_input_size(name))
        for framework in args.frameworks.split(","):
            ours_times, reference_times = measure(name, framework, size, args.rounds, args.warmup)
            ours = statistics.median(ours_times)
            if not reference_times:
                label, reference, ratio, ratio_min = "none (no same-architecture reference)", float("nan"), "-", "-"
            else:
                label = "torchvision" if framework == "pytorch" else "gluon model_zoo"
                reference = statistics.median(reference_times)
                ratio = f"{ours / reference:.3f}"
                ratio_min = f"{min(ours_times) / min(reference_times):.3f}"
            print(
                f"{name:<13} {framework:<9} {size:>5} {ours:>11.4f} {reference:>11.4f} {ratio:>6} {ratio_min:>9}  {label}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
