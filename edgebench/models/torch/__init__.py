"""edgebench.models.torch."""

from __future__ import annotations
