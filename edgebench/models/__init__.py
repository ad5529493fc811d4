"""The seven CNNs, built alike in PyTorch and MXNet Gluon, with one framework-free start.

Each model has one file per framework, ``torch/<file>.py`` and ``mxnet/<file>.py``, mirror
images of each other (``diff`` shows only framework differences). Parameters carry PyTorch
state_dict names in both frameworks, so one numpy dict of weights fits either model.
"""

from __future__ import annotations

import importlib
import pathlib
from dataclasses import dataclass

import numpy as np

from edgebench.models import convert
from edgebench.models import init as init_schemes

FRAMEWORKS = ("pytorch", "mxnet")

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent


@dataclass(frozen=True)
class Architecture:
    """Where a model is built, and the smallest square input it accepts."""

    file: str  # stem of its file in torch/ and mxnet/
    factory: str  # the function in that file that builds it
    min_input_size: int  # every layer keeps at least a 1x1 map (why each value: below)


# The one list of models: the config schema's `models` enum is checked against it
# (tests/test_settings.py), and every other table of models is keyed by it.
#
# Minimum input sides:
# - lenet 16: conv5, pool2, conv5, pool2 (16 -> 12 -> 6 -> 2 -> 1).
# - alexnet 63: conv 11/4 pad 2, then three 3/2 max-pools (63 -> 15 -> 7 -> 3 -> 1).
# - vgg16 32: five 2/2 max-pools (32 -> 1); the adaptive pool then repeats to 7x7.
# - inception_v3 75: the stem's strided convs and pools, Mixed_6a and Mixed_7a (75 -> ... -> 1).
# - resnet152 1: every strided layer is padded, so even a 1x1 input stays 1x1 (torchvision
#   lists the same minimum); 32 is the smallest where the last stage sees a 1x1 map from real
#   downsampling, which is the more sensible demo size.
# - densenet121 29: conv 7/2, pool 3/2, then three 2/2 transitions (29 -> 15 -> 8 -> 4 -> 2 -> 1).
# - squeezenet 29: conv 7/2, three ceil-mode 3/2 max-pools (29 -> 12 -> 6 -> 3 -> 1). torch
#   runs from 21 (its last pool then covers a 2x2 map), but MXNet refuses a pooling window
#   larger than its input, so 29 is the smallest input both frameworks take.
ARCHITECTURES = {
    "lenet": Architecture("lenet", "lenet", 16),
    "alexnet": Architecture("alexnet", "alexnet", 63),
    "vgg16": Architecture("vgg", "vgg16", 32),
    "inception_v3": Architecture("inception", "inception_v3", 75),
    "resnet152": Architecture("resnet", "resnet152", 1),
    "densenet121": Architecture("densenet", "densenet121", 29),
    "squeezenet": Architecture("squeezenet", "squeezenet1_0", 29),
}
MODEL_NAMES = tuple(ARCHITECTURES)


def check_framework(framework: str) -> str:
    """Return framework unchanged, or raise ValueError naming the allowed ones."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}; expected one of {', '.join(FRAMEWORKS)}")
    return framework


def check_name(name: str) -> str:
    """Return name unchanged, or raise ValueError naming the allowed ones."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")
    return name


def min_input_size(name: str) -> int:
    """Return the smallest square input side the named architecture accepts."""
    return ARCHITECTURES[check_name(name)].min_input_size


def check_input_size(name: str, input_size: int) -> int:
    """Return input_size unchanged, or raise ValueError if the model cannot take it."""
    smallest = min_input_size(name)
    if int(input_size) != input_size or input_size < smallest:
        raise ValueError(f"input_size {input_size!r} is too small for {name}: it needs at least {smallest}")
    return int(input_size)


def framework_dir(framework: str) -> str:
    """Return the sub-package name holding that framework's model files."""
    return {"pytorch": "torch", "mxnet": "mxnet"}[check_framework(framework)]


def factory(framework: str, name: str):
    """Return the function that constructs the named model in that framework."""
    stem, function = ARCHITECTURES[check_name(name)].file, ARCHITECTURES[check_name(name)].factory
    module = importlib.import_module(f"edgebench.models.{framework_dir(framework)}.{stem}")
    return getattr(module, function)


def build(framework: str, name: str, num_classes: int, *, input_size: int = 224, dropout=None, seed=None):
    """Return the named model, initialized: a torch nn.Module, or a hybridized Gluon HybridBlock.

    dropout overrides the architecture's dropout rate (0 disables it, e.g. to compare losses
    across frameworks). seed, when given, loads ``initial_weights(..., seed=seed)``; otherwise
    the framework's own default initialization is used.
    """
    check_framework(framework)
    input_size = check_input_size(name, input_size)
    if framework == "pytorch":
        model = factory(framework, name)(num_classes, input_size, dropout=dropout)
        match_gluon_batchnorm_momentum(model)
    else:
        model = build_gluon(name, num_classes, input_size, dropout)
    if seed is not None:
        load_weights(framework, model, initial_weights(name, num_classes, input_size=input_size, seed=seed,
                                                       framework=framework))
    return model


def match_gluon_batchnorm_momentum(model) -> None:
    """Give each torch BatchNorm the momentum that MXNet's BatchNorm op holds for it; return None."""
    import torch

    # MXNet's op keeps its momentum in float32: torch's 0.1 reaches it as float32(0.9), so it
    # weighs a new batch by 1 - float32(0.9) = 0.10000002384185791. torch given that value
    # weighs the old and new statistics exactly as MXNet does (a 2.4e-7 relative change from
    # torchvision's 0.1, which would otherwise show as a 1e-7 drift between the frameworks).
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d) and module.momentum is not None:
            module.momentum = 1.0 - float(np.float32(1.0 - module.momentum))


def build_gluon(name: str, num_classes: int, input_size: int, dropout):
    """Return the Gluon model on mx.cpu(), shapes checked by one forward, hybridized."""
    from edgebench.compat import import_mxnet

    mx = import_mxnet()
    block = factory("mxnet", name)(num_classes, input_size, dropout=dropout)
    block.initialize(mx.init.Xavier(magnitude=2.0), ctx=mx.cpu())
    # Every layer is given its input width, so shapes are already known; this forward proves
    # the input size passes through every layer before anything is timed or trained.
    block(mx.nd.zeros((1, 3, input_size, input_size), ctx=mx.cpu()))
    block.hybridize()
    return block


def layer_shapes(name: str, num_classes: int, input_size: int, framework: str = "pytorch") -> list:
    """Return [(layer name, kind, {param: shape})] for the model's conv, linear and BN layers.

    Names and order are torch's (state_dict names, definition order); the MXNet definition
    gives the same list (a test pins it), so an MXNet run never needs to import torch.
    """
    if check_framework(framework) == "mxnet":
        return _gluon_layer_shapes(name, num_classes, input_size)
    import torch

    # The meta device gives shapes without allocating memory or drawing torch random numbers.
    with torch.device("meta"):
        model = factory("pytorch", name)(num_classes, input_size)
    kinds = {torch.nn.Conv2d: "conv", torch.nn.Linear: "linear", torch.nn.BatchNorm2d: "batchnorm"}
    layers = []
    for layer_name, module in model.named_modules():
        kind = kinds.get(type(module))
        if kind is not None:
            shapes = {p: tuple(t.shape) for p, t in module.named_parameters(recurse=False)}
            layers.append((layer_name, kind, shapes))
    return layers


def _gluon_layer_shapes(name: str, num_classes: int, input_size: int) -> list:
    """Return layer_shapes() from the Gluon definition (every layer is given its input width)."""
    parameters = convert.gluon_parameters(factory("mxnet", name)(num_classes, input_size))
    shapes = {}  # layer name -> {param: shape}, in Gluon's registration order (= torch's)
    for key, parameter in parameters.items():
        layer_name, _, param = key.rpartition(".")
        if param in ("weight", "bias"):  # running statistics are buffers in torch, not parameters
            shapes.setdefault(layer_name, {})[param] = tuple(parameter.shape)
    layers = []
    for layer_name, params in shapes.items():
        if f"{layer_name}.running_mean" in parameters:
            kind = "batchnorm"
        else:
            kind = "conv" if len(params["weight"]) == 4 else "linear"
        layers.append((layer_name, kind, params))
    return layers


def initial_weights(name: str, num_classes: int, *, input_size: int = 224, seed: int,
                    framework: str = "pytorch") -> dict[str, np.ndarray]:
    """Return the model's initial state drawn with numpy from seed, keyed by torch state_dict names.

    The result does not depend on `framework`, which only picks whose model definition gives
    the layer shapes (a run then imports no other framework than its own).
    """
    input_size = check_input_size(name, input_size)
    return init_schemes.draw(name, layer_shapes(name, num_classes, input_size, framework), int(seed))


def load_weights(framework: str, model, weights: dict) -> None:
    """Copy a numpy weight dict (torch names) into either framework's model; return None."""
    if check_framework(framework) == "pytorch":
        convert.load_torch(model, weights)
    else:
        convert.load_gluon(model, weights)


def to_numpy_weights(framework: str, model) -> dict[str, np.ndarray]:
    """Return the model's weights as numpy arrays keyed by torch state_dict names."""
    if check_framework(framework) == "pytorch":
        return convert.torch_to_numpy(model)
    return convert.gluon_to_numpy(model)


def source_files(framework: str, name: str) -> list[pathlib.Path]:
    """Return the files whose code defines the named model in that framework (workflow inputs)."""
    stem = ARCHITECTURES[check_name(name)].file
    subdir = framework_dir(framework)
    # The shared helpers shape every model (init.py holds all schemes; convert.py loads the
    # start into the model; this file's build() sets torch's BatchNorm momentum), so an edit
    # there rightly reruns every model.
    files = [PACKAGE_DIR / subdir / f"{stem}.py", PACKAGE_DIR / "shapes.py", PACKAGE_DIR / "init.py"]
    files += [PACKAGE_DIR / "convert.py", PACKAGE_DIR / "__init__.py"]
    if stem in ("alexnet", "vgg"):
        files.append(PACKAGE_DIR / "heads.py")  # their shared classifier
    if framework == "mxnet":
        files.append(PACKAGE_DIR / "mxnet" / "layers.py")
    return files
