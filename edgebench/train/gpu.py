"""One cuDNN policy for both frameworks, and the facts of the device a run trained on.

CUDNN_POLICY is the single source of truth. Each backend puts it in force in its framework's
own terms before it builds a model (apply_environment, apply_torch) and reads the framework's
state back for device_report(), so the report shows what was in force, not what was asked for.

- autotune off. PyTorch: torch.backends.cudnn.benchmark = False; MXNet:
  MXNET_CUDNN_AUTOTUNE_DEFAULT=0. Both then take cuDNN's heuristic convolution algorithm
  instead of timing candidates during the first batches, which would add a framework-specific
  search to the first epoch's time and may pick differently from run to run.
- deterministic on. PyTorch: torch.backends.cudnn.deterministic = True; MXNet:
  MXNET_ENFORCE_DETERMINISM=1. Both restrict cuDNN convolutions to deterministic algorithms.
  torch.use_deterministic_algorithms(True) is deliberately not used: it reaches beyond cuDNN
  (MXNet's switch does not), raises RuntimeError in the CUDA backward of AdaptiveAvgPool2d
  (SqueezeNet, VGG, ResNet, DenseNet, Inception) and of the avg_pool3d inside AlexNet's
  LocalResponseNorm, and requires CUBLAS_WORKSPACE_CONFIG: most training runs would fail.
- TF32 off. On Ampere and later GPUs cuDNN and cuBLAS would otherwise compute float32
  convolutions and matmuls with 10-bit mantissas, PyTorch by default for convolutions
  (cudnn.allow_tf32) and MXNet as the libraries decide. NVIDIA_TF32_OVERRIDE=0 is read by
  cuDNN and cuBLAS themselves, so it binds both frameworks; PyTorch's own flags say the same;
  MXNET_CUDA_TENSOR_OP_MATH_ALLOW_CONVERSION=0 keeps MXNet from casting float32 to float16 for
  tensor cores. On Pascal boards (TX2) there are no tensor cores and this changes nothing.

Board side: Python 3.8+. Nothing here raises out of device-report helpers: a fact that cannot be
read is None, with the reason under "unavailable".
"""

from __future__ import annotations

import ctypes
import os
import re
import sys

# The policy both backends apply (True = on).
CUDNN_POLICY = {"autotune": False, "deterministic": True, "tf32": False}


def environment(policy=None) -> dict:
    """Return the environment variables that put the policy in force (before a framework's import)."""
    policy = CUDNN_POLICY if policy is None else policy
    env = {
        "MXNET_CUDNN_AUTOTUNE_DEFAULT": "1" if policy["autotune"] else "0",
        "MXNET_ENFORCE_DETERMINISM": "1" if policy["deterministic"] else "0",
    }
    if not policy["tf32"]:
        env["NVIDIA_TF32_OVERRIDE"] = "0"
        env["MXNET_CUDA_TENSOR_OP_MATH_ALLOW_CONVERSION"] = "0"
    return env


# framework -> whether its module was not yet imported when apply_environment first ran for it
_ENV_BEFORE_IMPORT = {}
_FRAMEWORK_MODULES = {"pytorch": "torch", "mxnet": "mxnet"}


def apply_environment(framework: str) -> dict:
    """Set the policy's environment variables (overriding inherited values); return them.

    Call before the framework is imported: MXNet and the CUDA libraries may read them once.
    Whether that held is remembered for the device report.
    """
    env = environment()
    os.environ.update(env)
    _ENV_BEFORE_IMPORT.setdefault(framework, _FRAMEWORK_MODULES[framework] not in sys.modules)
    return env


def env_set_before_import(framework: str):
    """Return whether apply_environment ran before the framework was imported (None: never ran)."""
    return _ENV_BEFORE_IMPORT.get(framework)


# --- PyTorch ---------------------------------------------------------------------------------

def apply_torch(torch) -> None:
    """Set PyTorch's cuDNN and TF32 flags to the policy (harmless without a GPU)."""
    torch.backends.cudnn.benchmark = CUDNN_POLICY["autotune"]
    torch.backends.cudnn.deterministic = CUDNN_POLICY["deterministic"]
    # The legacy TF32 flags exist from torch 1.7 on; torch 2.9+ maps them onto its
    # fp32_precision settings. Only these are used (never the new API as well): torch refuses
    # to read the flags back once the two APIs have been mixed.
    if hasattr(torch.backends.cudnn, "allow_tf32"):
        torch.backends.cudnn.allow_tf32 = CUDNN_POLICY["tf32"]
    matmul = getattr(getattr(torch.backends, "cuda", None), "matmul", None)
    if matmul is not None and hasattr(matmul, "allow_tf32"):
        matmul.allow_tf32 = CUDNN_POLICY["tf32"]


def torch_settings(torch) -> tuple:
    """Return (policy-shaped settings read back from torch, raw flags) for the device report."""
    raw = {"torch.backends.cudnn.benchmark": bool(torch.backends.cudnn.benchmark),
           "torch.backends.cudnn.deterministic": bool(torch.backends.cudnn.deterministic),
           "torch.use_deterministic_algorithms": _call(torch, "are_deterministic_algorithms_enabled")}
    tf32 = []
    for name, read in (("torch.backends.cudnn.allow_tf32", lambda: torch.backends.cudnn.allow_tf32),
                       ("torch.backends.cuda.matmul.allow_tf32", lambda: torch.backends.cuda.matmul.allow_tf32)):
        try:
            raw[name] = bool(read())
        except Exception as error:  # absent on old torch; unreadable after mixed TF32 APIs
            raw[name] = f"unreadable: {error}"
        else:
            tf32.append(raw[name])
    override = os.environ.get("NVIDIA_TF32_OVERRIDE")
    raw["NVIDIA_TF32_OVERRIDE"] = override
    raw["set_before_torch_import"] = env_set_before_import("pytorch")
    settings = {"autotune": raw["torch.backends.cudnn.benchmark"],
                "deterministic": raw["torch.backends.cudnn.deterministic"],
                # TF32 is off when the libraries are told so, or when every torch flag says off.
                "tf32": False if override == "0" else (any(tf32) if tf32 else None)}
    return settings, raw


def _call(module, name):
    function = getattr(module, name, None)
    return bool(function()) if function is not None else None


# --- MXNet -----------------------------------------------------------------------------------

# The variables MXNet's side of the policy is read from (plus one it leaves at its default).
MXNET_ENV_NAMES = ("MXNET_CUDNN_AUTOTUNE_DEFAULT", "MXNET_ENFORCE_DETERMINISM", "NVIDIA_TF32_OVERRIDE",
                   "MXNET_CUDA_TENSOR_OP_MATH_ALLOW_CONVERSION", "MXNET_CUDA_ALLOW_TENSOR_CORE")


def mxnet_settings() -> tuple:
    """Return (policy-shaped settings read from the environment MXNet runs under, raw variables)."""
    # MXNet has no getter for these: its C++ side reads the variables themselves (dmlc::GetEnv),
    # with the defaults used here when one is unset.
    raw = {name: os.environ.get(name) for name in MXNET_ENV_NAMES}
    raw["set_before_mxnet_import"] = env_set_before_import("mxnet")
    settings = {"autotune": (raw["MXNET_CUDNN_AUTOTUNE_DEFAULT"] or "1") != "0",  # MXNet's default: 1
                "deterministic": (raw["MXNET_ENFORCE_DETERMINISM"] or "0").lower() not in ("0", "false"),
                "tf32": raw["NVIDIA_TF32_OVERRIDE"] != "0"}
    return settings, raw


def mxnet_distribution_name():
    """Return the installed MXNet distribution's name (mxnet, mxnet-cu112, ...), or None."""
    from importlib import metadata

    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name == "mxnet" or name.startswith("mxnet-") or name.startswith("mxnet_"):
            return name
    return None


def mxnet_cuda_build_version(features=None, distribution=None):
    """Return (CUDA version MXNet was built for, or None with the reason)."""
    if features is not None and not features.get("CUDA", False):
        return None, "MXNet was built without CUDA"
    if distribution is None:
        distribution = mxnet_distribution_name()
    # pip wheels carry it in their name: mxnet-cu112 -> 11.2, mxnet-cu92 -> 9.2.
    m = re.search(r"cu(\d+)(\d)$", distribution or "")
    if m:
        return f"{m.group(1)}.{m.group(2)}", None
    return None, (f"MXNet exposes no CUDA build version and its distribution name "
                  f"{distribution!r} carries none (a source build?)")


# --- device facts (both frameworks) ----------------------------------------------------------

def format_cudnn_version(number):
    """Return cuDNN's integer version (8902, 90100) as 'major.minor.patch', or None."""
    if not number:
        return None
    number = int(number)
    if number >= 90000:  # cuDNN 9: major*10000 + minor*100 + patch
        return f"{number // 10000}.{number % 10000 // 100}.{number % 100}"
    return f"{number // 1000}.{number % 1000 // 100}.{number % 100}"  # cuDNN <= 8


def format_cuda_version(number):
    """Return CUDA's integer version (12040) as '12.4', or None."""
    if not number:
        return None
    return f"{int(number) // 1000}.{int(number) % 1000 // 10}"


def cuda_device(ordinal: int = 0) -> dict:
    """Return {name, pci_bus_id, cuda_driver_version} of a CUDA device via the driver API (libcuda).

    The ordinal is the process's own (after CUDA_VISIBLE_DEVICES), the same numbering as
    torch's cuda:N and MXNet's gpu(N). Values that cannot be read are None, with "reason".
    """
    info = {"name": None, "pci_bus_id": None, "cuda_driver_version": None, "reason": None}
    try:
        cuda = _load_libcuda()
        _check(cuda.cuInit(0), "cuInit")
        device = ctypes.c_int()
        _check(cuda.cuDeviceGet(ctypes.byref(device), int(ordinal)), "cuDeviceGet")
        name = ctypes.create_string_buffer(256)
        _check(cuda.cuDeviceGetName(name, len(name), device), "cuDeviceGetName")
        info["name"] = name.value.decode("utf-8", "replace")
        version = ctypes.c_int()
        if cuda.cuDriverGetVersion(ctypes.byref(version)) == 0:
            info["cuda_driver_version"] = format_cuda_version(version.value)
        bus = ctypes.create_string_buffer(64)
        if cuda.cuDeviceGetPCIBusId(bus, len(bus), device) == 0:  # integrated GPUs may have none
            info["pci_bus_id"] = bus.value.decode("ascii", "replace")
    except Exception as error:
        info["reason"] = f"CUDA driver API: {error}"
    return info


def _load_libcuda():
    last = None
    for name in ("libcuda.so.1", "libcuda.so"):
        try:
            return ctypes.CDLL(name)
        except OSError as error:
            last = error
    raise OSError(f"libcuda not loadable: {last}")


def _check(status: int, call: str) -> None:
    if status != 0:
        raise RuntimeError(f"{call} returned CUDA error {status}")


def loaded_cudnn_version():
    """Return (version of the libcudnn mapped into this process, or None with the reason)."""
    # MXNet has no getter for its cuDNN; a dynamically linked one (JetPack, source builds) is
    # found in the process's memory map. A statically linked one (pip wheels) is not.
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = {line.split()[-1] for line in fh if "libcudnn.so" in line or "libcudnn_" in line}
    except OSError as error:
        return None, f"/proc/self/maps unreadable: {error}"
    main = sorted(p for p in paths if os.path.basename(p).startswith("libcudnn.so"))
    if not main:
        return None, "no libcudnn.so in this process (MXNet links cuDNN statically, or not at all)"
    try:
        cudnn = ctypes.CDLL(main[0])
        cudnn.cudnnGetVersion.restype = ctypes.c_size_t
        return format_cudnn_version(cudnn.cudnnGetVersion()), None
    except (OSError, AttributeError) as error:
        return None, f"{main[0]}: {error}"


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def nvml_device(pci_bus_id=None, pid=None, nvml=None) -> dict:
    """Return NVML's {driver_version, name, process_used_mb} for one GPU, None where unreadable.

    The GPU is found by PCI bus id (so NVML's numbering and CUDA's need not agree); without one,
    only a host with a single GPU is unambiguous. process_used_mb is what NVML reports this
    process (pid) holds on that GPU now: CUDA context plus the framework's memory pool.
    `nvml`: the pynvml module or a stand-in (tests). Reasons for None values are in "reasons".
    """
    pid = os.getpid() if pid is None else pid
    out = {"driver_version": None, "name": None, "process_used_mb": None, "reasons": {}}
    try:
        if nvml is None:
            import pynvml as nvml
    except ImportError as error:
        reason = f"nvidia-ml-py (pynvml) not installed: {error}"
        out["reasons"] = {key: reason for key in ("driver_version", "name", "process_used_mb")}
        return out
    try:
        nvml.nvmlInit()
    except Exception as error:  # no NVIDIA driver, or a Jetson (Tegra has no NVML)
        reason = f"NVML unavailable: {error}"
        out["reasons"] = {key: reason for key in ("driver_version", "name", "process_used_mb")}
        return out
    try:
        try:
            out["driver_version"] = _text(nvml.nvmlSystemGetDriverVersion())
        except Exception as error:
            out["reasons"]["driver_version"] = f"NVML: {error}"
        handle, why = _nvml_handle(nvml, pci_bus_id)
        if handle is None:
            out["reasons"]["name"] = out["reasons"]["process_used_mb"] = why
            return out
        try:
            out["name"] = _text(nvml.nvmlDeviceGetName(handle))
        except Exception as error:
            out["reasons"]["name"] = f"NVML: {error}"
        out["process_used_mb"], why = _nvml_process_memory(nvml, handle, pid)
        if why:
            out["reasons"]["process_used_mb"] = why
    finally:
        try:
            nvml.nvmlShutdown()  # reference-counted: the hardware monitor's session stays open
        except Exception:
            pass
    return out


def _nvml_handle(nvml, pci_bus_id):
    try:
        if pci_bus_id:
            return nvml.nvmlDeviceGetHandleByPciBusId(pci_bus_id), None
        count = nvml.nvmlDeviceGetCount()
        if count == 1:
            return nvml.nvmlDeviceGetHandleByIndex(0), None
        return None, f"no PCI bus id of the CUDA device to tell which of NVML's {count} GPUs it is"
    except Exception as error:
        return None, f"NVML: {error}"


def _nvml_process_memory(nvml, handle, pid):
    try:
        processes = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
    except Exception as error:
        return None, f"NVML per-process memory: {error}"
    for process in processes:
        if process.pid == pid:
            used = getattr(process, "usedGpuMemory", None)
            if used is None:
                return None, "NVML lists this process but not its memory (no permission, or a container)"
            return used / 2**20, None
    return None, (f"this process (pid {pid}) is not among NVML's compute processes on the GPU "
                  "(a container's PID namespace hides it from NVML)")


# Keys every device report has, whatever the framework and device.
GPU_FIELDS = ("gpu_name", "gpu_pci_bus_id", "gpu_driver_version", "cuda_driver_version",
              "gpu_peak_memory_mb", "gpu_memory_process_used_mb_at_end")
REPORT_KEYS = ("framework", "device") + GPU_FIELDS + (
    "gpu_peak_memory_method", "cuda_build_version", "cudnn_build_version", "cudnn_runtime_version",
    "cudnn_settings", "cudnn_policy", "framework_flags", "unavailable")


def cpu_report(framework: str) -> dict:
    """Return a device report with every key, as for a CPU run: the GPU fields None."""
    report = {key: None for key in REPORT_KEYS}
    report.update(framework=framework, device="cpu", unavailable={key: "CPU run" for key in GPU_FIELDS})
    return report


def gpu_facts(ordinal: int = 0) -> dict:
    """Return the framework-independent GPU fields of CUDA device `ordinal`, with "unavailable" reasons."""
    device = cuda_device(ordinal)
    nvml = nvml_device(device["pci_bus_id"])
    facts = {"gpu_name": device["name"] or nvml["name"], "gpu_pci_bus_id": device["pci_bus_id"],
             "gpu_driver_version": nvml["driver_version"], "cuda_driver_version": device["cuda_driver_version"],
             "gpu_peak_memory_mb": None, "gpu_memory_process_used_mb_at_end": nvml["process_used_mb"]}
    reasons = {"gpu_name": device["reason"] or nvml["reasons"].get("name"),
               "gpu_pci_bus_id": device["reason"] or "the CUDA driver reports no PCI bus id (an integrated GPU)",
               "gpu_driver_version": nvml["reasons"].get("driver_version"),
               "cuda_driver_version": device["reason"] or "cuDriverGetVersion failed",
               "gpu_peak_memory_mb": "no peak counter read",
               "gpu_memory_process_used_mb_at_end": nvml["reasons"].get("process_used_mb")}
    facts["unavailable"] = {key: reasons[key] for key, value in facts.items() if value is None}
    return facts


def guarded_report(framework: str, device: str, build) -> dict:
    """Return build()'s device report; should it raise, a report that says so (never raises)."""
    try:
        return build()
    except Exception as error:  # a report must not fail a run that has trained
        report = cpu_report(framework)
        report.update(device=device, error=f"device report failed: {type(error).__name__}: {error}")
        report["unavailable"] = {key: "device report failed" for key in REPORT_KEYS
                                 if key not in ("framework", "device", "unavailable")}
        return report
