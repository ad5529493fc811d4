"""Weights between PyTorch, MXNet Gluon and numpy, keyed by PyTorch state_dict names.

The MXNet model files mirror the PyTorch ones attribute for attribute, so Gluon's structured
parameter names (``layer1.0.conv1.weight``) already equal torch's; only BatchNorm's affine
parameters are spelled differently (gamma/beta for weight/bias). Both frameworks store conv
weights as (out, in, kh, kw) and dense weights as (out, in), and both flatten NCHW maps in
C, H, W order, so no array is transposed.
"""

from __future__ import annotations

import numpy as np

from edgebench.compat import import_mxnet

# Gluon leaf name -> torch leaf name, for the leaves that differ.
GLUON_TO_TORCH_LEAF = {"gamma": "weight", "beta": "bias"}

# torch state that has no Gluon counterpart: the BatchNorm step counter only matters for
# momentum=None (cumulative averages), which no model here uses.
TORCH_ONLY_LEAVES = ("num_batches_tracked",)


def gluon_parameters(block) -> dict:
    """Return the block's Gluon Parameters keyed by torch state_dict names."""
    # _collect_params_with_prefix is what Block.save_parameters uses to name parameters by
    # attribute path; Gluon 1.x has no public spelling of it.
    named = {}
    for path, parameter in block._collect_params_with_prefix().items():
        head, _, leaf = path.rpartition(".")
        leaf = GLUON_TO_TORCH_LEAF.get(leaf, leaf)
        named[f"{head}.{leaf}" if head else leaf] = parameter
    return named


def is_torch_only(key: str) -> bool:
    """Return True for state_dict entries that Gluon models do not keep."""
    return key.rpartition(".")[2] in TORCH_ONLY_LEAVES


def check_keys_and_shapes(expected: dict, weights: dict, what: str) -> None:
    """Raise ValueError naming missing, unexpected or mis-shaped entries of weights."""
    required = {k for k in expected if not is_torch_only(k)}
    missing = sorted(required - set(weights))
    unexpected = sorted(k for k in set(weights) - set(expected) if not is_torch_only(k))
    wrong = sorted(
        f"{k}: model {tuple(expected[k])}, weights {tuple(np.shape(weights[k]))}"
        for k in required & set(weights)
        if tuple(expected[k]) != tuple(np.shape(weights[k]))
    )
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} (first: {missing[:3]})")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} (first: {unexpected[:3]})")
    if wrong:
        problems.append(f"wrong shape {len(wrong)} (first: {wrong[:3]})")
    if problems:
        raise ValueError(f"weights do not fit the {what} model: " + "; ".join(problems))


def load_torch(model, weights: dict) -> None:
    """Copy numpy weights into a torch module in place; return None."""
    import torch

    state = model.state_dict()
    check_keys_and_shapes({k: v.shape for k, v in state.items()}, weights, "pytorch")
    with torch.no_grad():
        for key, tensor in state.items():
            if key in weights:
                tensor.copy_(torch.from_numpy(np.asarray(weights[key])))


def load_gluon(block, weights: dict) -> None:
    """Copy numpy weights into an initialized Gluon block in place; return None."""
    mx = import_mxnet()
    parameters = gluon_parameters(block)
    check_keys_and_shapes({k: p.shape for k, p in parameters.items()}, weights, "mxnet")
    for key, parameter in parameters.items():
        parameter.set_data(mx.nd.array(weights[key], dtype=parameter.dtype))


def torch_to_numpy(model) -> dict[str, np.ndarray]:
    """Return a copy of a torch module's state_dict as numpy arrays."""
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def gluon_to_numpy(block) -> dict[str, np.ndarray]:
    """Return a copy of a Gluon block's parameters as numpy arrays under torch names."""
    return {k: p.data().asnumpy() for k, p in gluon_parameters(block).items()}
