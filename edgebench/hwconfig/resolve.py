"""Hardware configurations: from config.yaml's core groups to concrete cores, checked on this host."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import Optional, Union

from edgebench.schema import entry_defaults


class HardwareConfigError(ValueError):
    """A hardware configuration that this host cannot provide."""


@dataclass(frozen=True)
class HardwareConfig:
    """One resolved hardware configuration: which cores, whether the GPU is used, in which power mode."""

    name: str
    core_groups: tuple[str, ...]
    cores: tuple[int, ...]
    gpu: bool
    # An nvpmodel mode (its id, or its name) the board is put in for the run; None: left as it is.
    power_mode: Optional[Union[int, str]] = None

    @property
    def threads(self) -> int:
        """Return the framework thread count: one per core of the configuration."""
        return len(self.cores)


def host_cores() -> set[int]:
    """Return the cores this process may run on (respects containers and cgroups)."""
    return set(os.sched_getaffinity(0))


def host_has_gpu() -> bool:
    """Return whether an NVIDIA GPU is visible, without importing a framework."""
    # Jetson boards expose the integrated GPU through nvhost nodes, not NVML.
    if glob.glob("/dev/nvhost-ctrl-gpu") or glob.glob("/dev/nvhost-gpu"):
        return True
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return pynvml.nvmlDeviceGetCount() > 0
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no driver, no library: no usable GPU
        return False


def resolve(name: str, hwconfig: dict, board: dict) -> HardwareConfig:
    """Return the configuration `name` with its core groups turned into core ids.

    hwconfig: its config entry; keys it leaves out (a test's, a benchmark's) take the schema's defaults.
    """
    hwconfig = {**entry_defaults("hwconfigs"), **hwconfig}
    groups = board.get("cores") or {}
    cores: set[int] = set()
    for group in hwconfig["cores"]:
        if group not in groups:
            raise HardwareConfigError(
                f"hwconfigs.{name}.cores: core group {group!r} is not in board description "
                f"{board['name']!r} (groups: {', '.join(groups) or 'none'})"
            )
        members = groups[group]
        cores |= host_cores() if members == "all" else {int(c) for c in members}
    return HardwareConfig(name, tuple(hwconfig["cores"]), tuple(sorted(cores)), bool(hwconfig["gpu"]),
                          hwconfig.get("power_mode"))  # no power_mode: the board's mode is left as it is


def check_host(cfg: HardwareConfig, *, available_cores=None, gpu_available=None) -> None:
    """Raise HardwareConfigError naming the config key and reason if this host cannot run cfg."""
    available = host_cores() if available_cores is None else set(available_cores)
    missing = sorted(set(cfg.cores) - available)
    if missing:
        raise HardwareConfigError(
            f"hwconfigs.{cfg.name}.cores: core(s) {missing} not available on this host "
            f"(usable cores: {sorted(available)})"
        )
    if cfg.gpu:
        has_gpu = host_has_gpu() if gpu_available is None else gpu_available
        if not has_gpu:
            raise HardwareConfigError(f"hwconfigs.{cfg.name}.gpu: true, but this host has no usable NVIDIA GPU")
    if cfg.power_mode is not None:
        from edgebench.hwconfig.power_mode import check  # no nvpmodel, no such mode, no right to change it

        check(cfg.name, cfg.power_mode)
