"""Spatial-size arithmetic shared by both frameworks' model files."""

from __future__ import annotations

import math


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, ceil_mode: bool = False) -> int:
    """Return the output side of a convolution or pooling window over a square input side."""
    span = size + 2 * padding - kernel
    steps = math.ceil(span / stride) if ceil_mode else span // stride
    out = steps + 1
    # In ceil mode a last window that would start inside the right padding is dropped (the
    # convention both torch and MXNet follow), so it never sees only padding.
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
