"""Board descriptions and hardware configurations (cores, GPU, threads)."""

from __future__ import annotations

from edgebench.hwconfig.boards import load_board
from edgebench.hwconfig.resolve import HardwareConfig, HardwareConfigError, check_host, resolve

__all__ = ["HardwareConfig", "HardwareConfigError", "check_host", "load_board", "resolve"]
