"""Framework-independent initial weights: each reference init scheme, drawn with numpy.

A scheme maps one layer (its kind, its parameter shapes, its name) to numpy arrays. The layer
list comes from the PyTorch model built on the meta device (shapes only, no memory, no torch
RNG), so the same seed gives the same start in both frameworks and on every machine.
"""

from __future__ import annotations

import math

import numpy as np


def fan_in_and_out(shape) -> tuple[int, int]:
    """Return (fan_in, fan_out) of a conv (out, in, kh, kw) or linear (out, in) weight shape."""
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


# Samples are drawn in float32 directly: VGG-16 alone has 138M weights, and float64 draws
# would double the time and memory of every start.


def uniform(rng, shape, bound):
    """Return float32 samples from U(-bound, bound)."""
    samples = rng.random(shape, dtype=np.float32)
    samples *= np.float32(2 * bound)
    samples -= np.float32(bound)
    return samples


def normal(rng, shape, std):
    """Return float32 samples from N(0, std^2)."""
    samples = rng.standard_normal(shape, dtype=np.float32)
    samples *= np.float32(std)
    return samples


def truncated_normal(rng, shape, std, low, high):
    """Return float32 samples from N(0, std^2) truncated to [low, high] (absolute bounds)."""
    # Rejection: redraw what falls outside. Exact, and fast while the bounds are wide (for
    # Inception's +-2 at std 0.1 nothing falls outside in practice).
    samples = normal(rng, shape, std)
    outside = (samples < low) | (samples > high)
    while outside.any():
        samples[outside] = normal(rng, int(outside.sum()), std)
        outside = (samples < low) | (samples > high)
    return samples


def torch_default(rng, kind, shapes, name):
    """Return torch.nn's default init for conv/linear (U(+-1/sqrt(fan_in)) for weight and bias)."""
    # kaiming_uniform_(a=sqrt(5)) reduces to a bound of 1/sqrt(fan_in), the same as the bias's.
    bound = 1.0 / math.sqrt(fan_in_and_out(shapes["weight"])[0])
    arrays = {"weight": uniform(rng, shapes["weight"], bound)}
    if "bias" in shapes:
        arrays["bias"] = uniform(rng, shapes["bias"], bound)
    return arrays


def kaiming_normal(rng, shape, mode="fan_in"):
    """Return He-normal samples for a ReLU layer (std = sqrt(2 / fan))."""
    fan_in, fan_out = fan_in_and_out(shape)
    return normal(rng, shape, math.sqrt(2.0 / (fan_in if mode == "fan_in" else fan_out)))


def zeros_like_bias(shapes):
    """Return a zero bias when the layer has one, else an empty dict."""
    return {"bias": np.zeros(shapes["bias"], np.float32)} if "bias" in shapes else {}


def batchnorm(shapes):
    """Return the identity BatchNorm state: weight 1, bias 0, running mean 0, running var 1."""
    channels = shapes["weight"]
    return {
        "weight": np.ones(channels, np.float32),
        "bias": np.zeros(channels, np.float32),
        "running_mean": np.zeros(channels, np.float32),
        "running_var": np.ones(channels, np.float32),
        "num_batches_tracked": np.array(0, np.int64),
    }


def vgg_scheme(rng, kind, shapes, name):
    """Return torchvision VGG's init: conv He-normal (fan_out), linear N(0, 0.01), biases 0."""
    if kind == "conv":
        return {"weight": kaiming_normal(rng, shapes["weight"], "fan_out"), **zeros_like_bias(shapes)}
    return {"weight": normal(rng, shapes["weight"], 0.01), **zeros_like_bias(shapes)}


def resnet_scheme(rng, kind, shapes, name):
    """Return torchvision ResNet's init: conv He-normal (fan_out), linear torch's default."""
    if kind == "conv":
        return {"weight": kaiming_normal(rng, shapes["weight"], "fan_out"), **zeros_like_bias(shapes)}
    return torch_default(rng, kind, shapes, name)


def densenet_scheme(rng, kind, shapes, name):
    """Return torchvision DenseNet's init: conv He-normal (fan_in), linear default weight, bias 0."""
    if kind == "conv":
        return {"weight": kaiming_normal(rng, shapes["weight"], "fan_in"), **zeros_like_bias(shapes)}
    arrays = torch_default(rng, kind, shapes, name)
    arrays.update(zeros_like_bias(shapes))
    return arrays


def squeezenet_scheme(rng, kind, shapes, name):
    """Return torchvision SqueezeNet's init: final conv N(0, 0.01), others He-uniform, biases 0."""
    if name == "classifier.1":
        weight = normal(rng, shapes["weight"], 0.01)
    else:
        fan_in = fan_in_and_out(shapes["weight"])[0]
        weight = uniform(rng, shapes["weight"], math.sqrt(6.0 / fan_in))
    return {"weight": weight, **zeros_like_bias(shapes)}


def inception_scheme(rng, kind, shapes, name):
    """Return torchvision Inception v3's init: weights N(0, 0.1) cut at +-2, fc bias default."""
    arrays = {"weight": truncated_normal(rng, shapes["weight"], 0.1, -2.0, 2.0)}
    if "bias" in shapes:
        # torchvision re-draws only the weights; the bias keeps torch's default draw.
        bound = 1.0 / math.sqrt(fan_in_and_out(shapes["weight"])[0])
        arrays["bias"] = uniform(rng, shapes["bias"], bound)
    return arrays


# Which scheme each model's reference uses (LeNet and the 2012 AlexNet have no torchvision
# definition here, so they take torch's defaults, as torchvision's AlexNet does).
SCHEMES = {
    "lenet": torch_default,
    "alexnet": torch_default,
    "vgg16": vgg_scheme,
    "inception_v3": inception_scheme,
    "resnet152": resnet_scheme,
    "densenet121": densenet_scheme,
    "squeezenet": squeezenet_scheme,
}


def draw(name: str, layers, seed: int) -> dict[str, np.ndarray]:
    """Return the initial state (torch state_dict names) for layers [(name, kind, shapes)]."""
    rng = np.random.default_rng(seed)
    scheme = SCHEMES[name]
    weights = {}
    for layer_name, kind, shapes in layers:
        arrays = batchnorm(shapes) if kind == "batchnorm" else scheme(rng, kind, shapes, layer_name)
        for param, array in arrays.items():
            weights[f"{layer_name}.{param}"] = array
    return weights
