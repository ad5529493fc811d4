"""edgebench.models.mxnet."""

from __future__ import annotations
