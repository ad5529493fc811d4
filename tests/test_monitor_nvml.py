"""NVML reader. This machine has no NVIDIA driver: the real pynvml is exercised for the
no-GPU path; the GPU path runs against a stand-in module with pynvml's functions and error
classes (return types as documented in NVML's API reference: utilization in %, memory in
bytes, power in mW, total energy in mJ), and for real on a GPU host (bench/ or device check)."""

from types import SimpleNamespace

import pynvml
import pytest

from edgebench.monitor.nvml import NvmlReader


def test_real_pynvml_without_a_driver_is_unavailable_not_an_error():
    reader = NvmlReader()
    if reader.available():
        pytest.skip("this machine has an NVIDIA GPU; see the device check")
    assert reader.read() == {}
    assert "NVML" in reader.unavailable_reason


class FakeNvml:
    """pynvml's surface for two GPUs; the second predates the energy counter (pre-Volta)."""

    NVMLError = pynvml.NVMLError
    NVMLError_NotSupported = pynvml.NVMLError_NotSupported

    def __init__(self):
        self.energy_calls = {0: 0, 1: 0}
        self.shut = False

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        self.shut = True

    def nvmlDeviceGetCount(self):
        return 2

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetUtilizationRates(self, h):
        return SimpleNamespace(gpu=[87, 3][h], memory=[40, 0][h])

    def nvmlDeviceGetMemoryInfo(self, h):
        return SimpleNamespace(used=[3 * 2**30, 512 * 2**20][h], total=[80 * 2**30, 16 * 2**30][h], free=0)

    def nvmlDeviceGetPowerUsage(self, h):
        return [312_456, 25_000][h]

    def nvmlDeviceGetTotalEnergyConsumption(self, h):
        self.energy_calls[h] += 1
        if h == 1:
            raise pynvml.NVMLError_NotSupported(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return 9_876_543


def test_two_gpus_columns_and_units():
    fake = FakeNvml()
    reader = NvmlReader(nvml=fake)
    assert reader.available()
    row = reader.read()
    assert row == {
        "gpu_load_pct": 87, "gpu_mem_used_mb": 3072.0, "gpu_mem_total_mb": 81920.0,
        "power_gpu0_mw": 312_456, "energy_gpu0_mj": 9_876_543,
        "gpu1_load_pct": 3, "gpu1_mem_used_mb": 512.0, "gpu1_mem_total_mb": 16384.0,
        "power_gpu1_mw": 25_000,
    }
    reader.read()
    assert fake.energy_calls == {0: 2, 1: 1}  # an unsupported counter is not asked again
    reader.close()
    assert fake.shut


def test_init_failure_is_unavailable():
    class Broken(FakeNvml):
        def nvmlInit(self):
            raise pynvml.NVMLError_DriverNotLoaded(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)

    reader = NvmlReader(nvml=Broken())
    assert not reader.available() and reader.read() == {}
    assert "NVML unavailable" in reader.unavailable_reason


def test_a_failing_query_gives_none_for_that_field_only():
    class Flaky(FakeNvml):
        def nvmlDeviceGetPowerUsage(self, h):
            raise pynvml.NVMLError_GpuIsLost(pynvml.NVML_ERROR_GPU_IS_LOST)

    row = NvmlReader(nvml=Flaky()).read()
    assert row["power_gpu0_mw"] is None and row["gpu_load_pct"] == 87
