"""GPU parity: one cuDNN policy applied alike in both frameworks, device_report(), bench/gpu_smoke.sh.

Runs in .venv-parity (real PyTorch and real MXNet in one process) on a machine without a GPU:
the GPU branches of device_report() are driven with stand-ins for CUDA and NVML; the smoke
script runs for real, on the CPU (--cpu).
"""

import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from edgebench.train import gpu

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "bench" / "gpu_smoke.sh"
HPARAMS = {"learning_rate": 0.001, "momentum": 0.9, "weight_decay": 5e-4}
FRAMEWORKS = ["pytorch", "mxnet"]


def build(framework, model="lenet", use_gpu=False):
    from edgebench.train.backend import load_backend

    return load_backend(framework)(model, 10, 32, HPARAMS, seed=0, use_gpu=use_gpu, threads=1)


@pytest.fixture
def torch_flags():
    """Put torch's cuDNN flags back as they were after the test."""
    import torch

    cudnn = torch.backends.cudnn
    saved = (cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    yield torch
    cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


# --- the policy, applied -----------------------------------------------------------------------

def test_policy_is_autotune_off_determinism_on_tf32_off_and_the_environment_follows_it():
    assert gpu.CUDNN_POLICY == {"autotune": False, "deterministic": True, "tf32": False}
    assert gpu.environment() == {"MXNET_CUDNN_AUTOTUNE_DEFAULT": "0", "MXNET_ENFORCE_DETERMINISM": "1",
                                 "NVIDIA_TF32_OVERRIDE": "0", "MXNET_CUDA_TENSOR_OP_MATH_ALLOW_CONVERSION": "0"}
    relaxed = gpu.environment({"autotune": True, "deterministic": False, "tf32": True})
    assert relaxed == {"MXNET_CUDNN_AUTOTUNE_DEFAULT": "1", "MXNET_ENFORCE_DETERMINISM": "0"}


def test_torch_flags_are_set_by_building_a_backend(torch_flags):
    torch = torch_flags
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = True, False
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
    build("pytorch")
    assert torch.backends.cudnn.benchmark is False
    assert torch.backends.cudnn.deterministic is True
    assert torch.backends.cudnn.allow_tf32 is False
    assert torch.backends.cuda.matmul.allow_tf32 is False
    # Deliberately not torch.use_deterministic_algorithms(True): it raises in the CUDA backward of
    # AdaptiveAvgPool2d, which most of the models use (see edgebench/train/gpu.py).
    assert torch.are_deterministic_algorithms_enabled() is False


def test_mxnet_environment_is_set_by_building_a_backend(monkeypatch):
    for name in gpu.environment():
        monkeypatch.setenv(name, "garbage")
    build("mxnet")
    for name, value in gpu.environment().items():
        assert os.environ[name] == value
    assert os.environ["MXNET_CUDNN_AUTOTUNE_DEFAULT"] == "0"
    assert os.environ["MXNET_ENFORCE_DETERMINISM"] == "1"


def test_mxnet_environment_is_set_before_mxnet_is_imported():
    # A fresh interpreter: importing the backend module must set the variables before mxnet loads.
    code = ("import os, sys\n"
            "import edgebench.train.mxnet_backend as b\n"
            "from edgebench.train import gpu\n"
            "assert gpu.env_set_before_import('mxnet') is True\n"
            "print(os.environ['MXNET_CUDNN_AUTOTUNE_DEFAULT'], os.environ['MXNET_ENFORCE_DETERMINISM'])\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MXNET_", "NVIDIA_TF32"))}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "1"]


# --- device_report() on the CPU -----------------------------------------------------------------

@pytest.fixture(scope="module")
def cpu_reports():
    return {framework: build(framework).device_report() for framework in FRAMEWORKS}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_cpu_device_report_has_every_key_and_no_gpu_facts(cpu_reports, framework):
    report = cpu_reports[framework]
    assert set(gpu.REPORT_KEYS) <= set(report)
    assert report["framework"] == framework and report["device"] == "cpu"
    assert "error" not in report
    for key in gpu.GPU_FIELDS:
        assert report[key] is None
        assert report["unavailable"][key] == "CPU run"
    assert report["gpu_peak_memory_method"] is None
    assert report["cudnn_policy"] == gpu.CUDNN_POLICY


def test_cudnn_settings_are_recorded_equal_across_frameworks(cpu_reports):
    torch_report, mxnet_report = cpu_reports["pytorch"], cpu_reports["mxnet"]
    assert torch_report["cudnn_settings"] == mxnet_report["cudnn_settings"] == gpu.CUDNN_POLICY
    assert set(torch_report) == set(mxnet_report)  # one shape of report, whichever framework
    assert torch_report["framework_flags"]["torch.backends.cudnn.benchmark"] is False
    assert torch_report["framework_flags"]["torch.backends.cudnn.deterministic"] is True
    assert mxnet_report["framework_flags"]["MXNET_CUDNN_AUTOTUNE_DEFAULT"] == "0"
    assert mxnet_report["framework_flags"]["MXNET_ENFORCE_DETERMINISM"] == "1"


def test_report_reads_the_frameworks_back_rather_than_echoing_the_policy(torch_flags, monkeypatch):
    torch = torch_flags
    backend = build("pytorch")
    torch.backends.cudnn.benchmark = True
    assert backend.device_report()["cudnn_settings"]["autotune"] is True
    monkeypatch.setenv("MXNET_ENFORCE_DETERMINISM", "0")
    assert gpu.mxnet_settings()[0]["deterministic"] is False
    monkeypatch.delenv("MXNET_CUDNN_AUTOTUNE_DEFAULT")
    assert gpu.mxnet_settings()[0]["autotune"] is True  # MXNet's own default: autotune on


def test_device_report_never_raises():
    def broken():
        raise RuntimeError("driver went away")

    report = gpu.guarded_report("pytorch", "cuda:0", broken)
    assert report["device"] == "cuda:0" and "driver went away" in report["error"]
    assert set(gpu.REPORT_KEYS) <= set(report)


# --- device_report() on a GPU, with stand-ins for CUDA and NVML ----------------------------------

FACTS = {"gpu_name": "Stand-in GPU", "gpu_pci_bus_id": "00000000:3B:00.0", "gpu_driver_version": "550.54.15",
         "cuda_driver_version": "12.4", "gpu_peak_memory_mb": None, "gpu_memory_process_used_mb_at_end": 321.0,
         "unavailable": {"gpu_peak_memory_mb": "no peak counter read"}}


def test_torch_gpu_report_names_device_driver_and_peak_memory(monkeypatch):
    import torch

    backend = build("pytorch")
    backend.device = torch.device("cuda:0")
    monkeypatch.setattr(gpu, "gpu_facts", lambda ordinal: {**FACTS, "unavailable": dict(FACTS["unavailable"])})
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: None)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Stand-in GPU")
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 48 * 2**20)
    report = backend.device_report()
    assert "error" not in report, report.get("error")
    assert report["device"] == "cuda:0" and report["gpu_name"] == "Stand-in GPU"
    assert report["gpu_driver_version"] == "550.54.15" and report["cuda_driver_version"] == "12.4"
    assert report["gpu_peak_memory_mb"] == 48.0
    assert "max_memory_allocated" in report["gpu_peak_memory_method"]
    assert report["gpu_memory_process_used_mb_at_end"] == 321.0
    assert "gpu_peak_memory_mb" not in report["unavailable"]
    assert report["cuda_build_version"] == torch.version.cuda


def test_mxnet_gpu_report_has_no_peak_counter_and_says_why(monkeypatch):
    from edgebench.compat import import_mxnet

    mx = import_mxnet()
    backend = build("mxnet")
    backend.ctx = mx.gpu(0)  # a context object only: nothing runs on it
    monkeypatch.setattr(gpu, "gpu_facts", lambda ordinal: {**FACTS, "unavailable": dict(FACTS["unavailable"])})
    report = backend.device_report()
    assert "error" not in report, report.get("error")
    assert report["device"] == "gpu(0)" and report["gpu_name"] == "Stand-in GPU"
    assert report["gpu_peak_memory_mb"] is None
    assert "no peak" in report["unavailable"]["gpu_peak_memory_mb"]
    assert report["gpu_memory_process_used_mb_at_end"] == 321.0
    assert report["cudnn_settings"] == gpu.CUDNN_POLICY


class FakeNvml(types.SimpleNamespace):
    """pynvml's functions that nvml_device() uses, for one GPU at one PCI bus id."""

    class NVMLError(Exception):
        pass

    def __init__(self, processes, bus="00000000:3B:00.0", count=1):
        super().__init__(processes=processes, bus=bus, count=count, shutdowns=0)

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        self.shutdowns += 1

    def nvmlSystemGetDriverVersion(self):
        return b"550.54.15"  # old pynvml returns bytes

    def nvmlDeviceGetHandleByPciBusId(self, bus):
        if bus.lower() != self.bus.lower():
            raise self.NVMLError("not found")
        return "handle"

    def nvmlDeviceGetCount(self):
        return self.count

    def nvmlDeviceGetHandleByIndex(self, index):
        return "handle"

    def nvmlDeviceGetName(self, handle):
        return "Stand-in GPU"

    def nvmlDeviceGetComputeRunningProcesses(self, handle):
        return self.processes


def test_nvml_device_finds_the_gpu_by_bus_id_and_this_process_memory():
    nvml = FakeNvml([types.SimpleNamespace(pid=1, usedGpuMemory=2**30),
                     types.SimpleNamespace(pid=42, usedGpuMemory=300 * 2**20)])
    info = gpu.nvml_device("00000000:3b:00.0", pid=42, nvml=nvml)
    assert info["driver_version"] == "550.54.15" and info["name"] == "Stand-in GPU"
    assert info["process_used_mb"] == 300.0 and info["reasons"] == {}
    assert nvml.shutdowns == 1


def test_nvml_device_says_why_when_it_cannot_tell():
    hidden = gpu.nvml_device("00000000:3B:00.0", pid=42, nvml=FakeNvml([types.SimpleNamespace(pid=7, usedGpuMemory=1)]))
    assert hidden["process_used_mb"] is None and "PID namespace" in hidden["reasons"]["process_used_mb"]
    ambiguous = gpu.nvml_device(None, pid=42, nvml=FakeNvml([], count=2))
    assert ambiguous["name"] is None and "2 GPUs" in ambiguous["reasons"]["name"]
    assert ambiguous["driver_version"] == "550.54.15"


def test_cuda_device_without_a_driver_gives_reasons_not_errors():
    info = gpu.cuda_device(0)  # this host has no libcuda
    assert info["name"] is None and info["reason"]


def test_version_formats():
    assert gpu.format_cudnn_version(8902) == "8.9.2"
    assert gpu.format_cudnn_version(90100) == "9.1.0"
    assert gpu.format_cudnn_version(None) is None
    assert gpu.format_cuda_version(12040) == "12.4" and gpu.format_cuda_version(10020) == "10.2"
    assert gpu.mxnet_cuda_build_version({"CUDA": True}, "mxnet-cu112") == ("11.2", None)
    assert gpu.mxnet_cuda_build_version({"CUDA": True}, "mxnet-cu92") == ("9.2", None)
    assert gpu.mxnet_cuda_build_version({"CUDA": False}, "mxnet")[0] is None
    assert gpu.mxnet_cuda_build_version({"CUDA": True}, "mxnet")[1]  # a source build: no version, a reason


# --- bench/gpu_smoke.sh --------------------------------------------------------------------------

def smoke_env(tmp_path, *, hide=()):
    """Return an environment for the smoke script with this interpreter and the named packages hidden."""
    env = dict(os.environ, PYTHON=sys.executable)
    if hide:
        blocker = tmp_path / "hide"
        for package in hide:  # an importable package that refuses, as a missing one would
            (blocker / package).mkdir(parents=True)
            (blocker / package / "__init__.py").write_text(f"raise ImportError('{package} hidden by the test')\n")
        env["PYTHONPATH"] = str(blocker)
    return env


@pytest.mark.skipif(not importlib.util.find_spec("torch") or __import__("torch").cuda.is_available(),
                    reason="this host has a CUDA GPU")
def test_smoke_without_a_gpu_refuses_unless_told_cpu(tmp_path):
    result = subprocess.run([str(SMOKE)], capture_output=True, text=True, env=smoke_env(tmp_path), timeout=120)
    assert result.returncode != 0
    assert "no CUDA GPU" in result.stdout
    assert "RESULT" not in result.stdout  # it stopped before doing anything


def test_smoke_on_cpu_runs_the_whole_pipeline(tmp_path):
    # scipy hidden, as on a JetPack board: the subset stage must do without it.
    result = subprocess.run([str(SMOKE), "--cpu"], capture_output=True, text=True,
                            env=smoke_env(tmp_path, hide=("scipy",)), timeout=600)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "mode: CPU (--cpu)" in out
    assert "PASS  dataset (demo tree -> stats -> subset -> prepare)" in out
    for framework in FRAMEWORKS:
        for model in ("lenet", "squeezenet"):
            name = f"{framework}-{model}"
            for check in ("run.json status done", "trained on the CPU as asked", "cuDNN settings in force",
                          "training loss fell"):
                assert f"PASS  {name}: {check}" in out, check
            assert f"SKIP  {name}: trained on the GPU: --cpu" in out
            assert f"PASS  {framework}/{model}: same initial weights on both" in out
            assert f"SKIP  {framework}/{model}: first training step, CPU vs GPU: --cpu (the comparison ran CPU vs CPU: agree" in out
            assert f"PASS  {framework}/{model}: device_report() of the backend" in out
    assert "FAIL" not in out
    assert "RESULT: OK: 25 passed, 0 failed, 8 skipped" in out


def load_smoke_module():
    spec = importlib.util.spec_from_file_location("gpu_smoke", REPO / "bench" / "gpu_smoke.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_reports_mxnet_as_skipped_where_it_is_not_installed(tmp_path, monkeypatch, capsys):
    smoke = load_smoke_module()
    real = importlib.util.find_spec
    monkeypatch.setattr(smoke.importlib.util, "find_spec", lambda name, *a: None if name == "mxnet" else real(name, *a))
    assert smoke.mxnet_status(use_gpu=True) == (None, "not installed")
    checks = smoke.Checks()
    args = smoke.parse_args(["--cpu", "--frameworks", "mxnet", "--models", "lenet"])
    smoke.run_checks(checks, args, use_gpu=False, work=tmp_path)
    assert "SKIP  mxnet: not installed, skipped" in capsys.readouterr().out
    assert checks.counts == {"PASS": 1, "FAIL": 0, "SKIP": 1}  # the dataset, and mxnet's skip


def test_smoke_comparison_tolerates_float32_rounding_but_not_more():
    smoke = load_smoke_module()
    reference = np.array([[2.5, -1.0, 1e-6]], dtype=np.float32)
    assert smoke.max_differences(reference * (1 + 5e-4), reference)[1] <= 1.0
    assert smoke.max_differences(reference * (1 + 5e-3), reference)[1] > 1.0
