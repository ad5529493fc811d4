"""Put the current process into a hardware configuration: core affinity, threads, GPU visibility."""

from __future__ import annotations

import os

from edgebench.hwconfig.resolve import HardwareConfig


def thread_environment(cfg: HardwareConfig) -> dict[str, str]:
    """Return the environment variables that size both frameworks' thread pools to the config."""
    n = str(cfg.threads)
    env = {
        # Intra-op parallelism of both frameworks (OpenMP/MKL/OpenBLAS kernels).
        "OMP_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        # MXNet's engine runs independent operators on this many workers, each using
        # OMP_NUM_THREADS; one worker keeps the total equal to the core count, as torch does.
        "MXNET_CPU_WORKER_NTHREADS": "1",
    }
    if not cfg.gpu:
        # Hide the GPU from both frameworks so a CPU configuration cannot use it by accident.
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def enter(cfg: HardwareConfig) -> None:
    """Pin this process to the config's cores and set thread variables; call before importing a framework."""
    os.environ.update(thread_environment(cfg))
    os.sched_setaffinity(0, cfg.cores)
