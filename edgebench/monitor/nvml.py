"""NVIDIA GPU load, memory, power and energy through NVML (the nvidia-ml-py package, `pynvml`).

A machine without an NVIDIA driver is a normal case, not an error: available() is then False
and read() returns nothing.
"""

from __future__ import annotations


class NvmlReader:
    """Per-GPU NVML readings as hw.csv columns; GPU 0 fills the contract's gpu_* columns."""

    def __init__(self, nvml=None):
        # nvml: the pynvml module, or a stand-in with the same functions (tests).
        self.unavailable_reason: str | None = None
        self._nvml = nvml
        self._handles: list = []
        self._unsupported: set[tuple[int, str]] = set()
        self._started = False

    def _start(self) -> None:
        """Initialise NVML once and collect the device handles, recording why if it cannot."""
        if self._started:
            return
        self._started = True
        try:
            if self._nvml is None:
                import pynvml

                self._nvml = pynvml
            self._nvml.nvmlInit()
            count = self._nvml.nvmlDeviceGetCount()
            self._handles = [self._nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except ImportError as error:
            self.unavailable_reason = f"nvidia-ml-py (pynvml) not installed: {error}"
        except Exception as error:  # pynvml.NVMLError and its many subclasses
            self.unavailable_reason = f"NVML unavailable: {error}"
            self._handles = []
        else:
            if not self._handles:
                self.unavailable_reason = "NVML reports no GPU"

    def available(self) -> bool:
        """Return whether NVML runs and sees at least one GPU."""
        self._start()
        return bool(self._handles)

    @staticmethod
    def _prefix(index: int) -> str:
        return "gpu" if index == 0 else f"gpu{index}"

    def _query(self, index: int, what: str, call):
        """Return call()'s value, or None when the GPU lacks the counter or the call fails."""
        if (index, what) in self._unsupported:
            return None
        try:
            return call()
        except self._nvml.NVMLError_NotSupported:
            # Older GPUs have no energy counter; asking again every second is wasted time.
            self._unsupported.add((index, what))
            return None
        except self._nvml.NVMLError:
            return None

    def read(self) -> dict:
        """Return {gpu_load_pct, gpu_mem_used_mb, gpu_mem_total_mb, power_gpu<i>_mw, energy_gpu<i>_mj, ...}."""
        if not self.available():
            return {}
        nvml = self._nvml
        row = {}
        for i, handle in enumerate(self._handles):
            prefix = self._prefix(i)
            util = self._query(i, "util", lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
            memory = self._query(i, "memory", lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
            power = self._query(i, "power", lambda: nvml.nvmlDeviceGetPowerUsage(handle))
            energy = self._query(i, "energy", lambda: nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
            row[f"{prefix}_load_pct"] = None if util is None else util.gpu
            row[f"{prefix}_mem_used_mb"] = None if memory is None else memory.used / 2**20
            row[f"{prefix}_mem_total_mb"] = None if memory is None else memory.total / 2**20
            row[f"power_gpu{i}_mw"] = power  # NVML reports milliwatts
            if (i, "energy") not in self._unsupported:
                # Millijoules since the driver was loaded (Volta and newer).
                row[f"energy_gpu{i}_mj"] = energy
        return row

    def close(self) -> None:
        """Shut NVML down if this reader started it."""
        if self._handles:
            try:
                self._nvml.nvmlShutdown()
            except Exception:
                pass
            self._handles = []
