"""Device profiles and hardware configurations (cores, GPU, threads)."""

from __future__ import annotations

from edgebench.hwconfig.profiles import load_profile
from edgebench.hwconfig.resolve import HardwareConfig, HardwareConfigError, check_host, resolve

__all__ = ["HardwareConfig", "HardwareConfigError", "check_host", "load_profile", "resolve"]
