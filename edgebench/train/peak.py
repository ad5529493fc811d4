"""The host's peak for a hardware configuration: a float32 GEMM on its cores with its threads.

Tables set each run's achieved GFLOP/s against this number, so that a reader can tell a slow
framework from a slow board. It is measured once per host and configuration like a run: pinned
to the configuration's cores with the same thread count (edgebench/hwconfig/apply.py), on the
GPU for a GPU configuration, exclusive of other measured work. The GEMM is PyTorch's (its BLAS
on the CPU, cuBLAS on the GPU); the matrix side doubles until one product takes long enough to
time, and the best of the repeats is the peak.

    python -m edgebench.train.peak --board demo --hwcfg cpu_cfg1 --hwconfig '{"cores": ["core0"]}' --out X.json

Runs in the PyTorch interpreter. Board side: Python 3.8+.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path

MIN_PRODUCT_S = 0.05  # one product at least this long: timer and launch overheads vanish
MAX_SIDE = {"cpu": 4096, "cuda": 16384}
REPEAT_S = 1.0  # repeats for this long after sizing; the best one counts


def gemm_gflops(threads: int, gpu: bool) -> dict:
    """Return the best float32 GEMM rate (GFLOP/s) on this process's cores, or on the GPU."""
    import torch

    torch.set_num_threads(threads)
    device = torch.device("cuda:0" if gpu else "cpu")

    def timed(a, b) -> float:
        if gpu:
            torch.cuda.synchronize()
        start = time.perf_counter()
        torch.mm(a, b)
        if gpu:
            torch.cuda.synchronize()
        return time.perf_counter() - start

    side = 256
    while True:
        a = torch.rand(side, side, device=device)
        b = torch.rand(side, side, device=device)
        timed(a, b)  # the first product pays for allocation and kernel selection
        if timed(a, b) >= MIN_PRODUCT_S or side >= MAX_SIDE[device.type]:
            break
        side *= 2
    best, deadline = float("inf"), time.perf_counter() + REPEAT_S
    while time.perf_counter() < deadline:
        best = min(best, timed(a, b))
    return {"gflops_per_s": 2.0 * side ** 3 / best / 1e9, "side": side, "dtype": "float32",
            "device": torch.cuda.get_device_name(device) if gpu else "cpu", "threads": threads,
            "library": f"torch.mm (torch {torch.__version__})"}


def measure(board: str, hwcfg: str, hwconfig: dict, record_dir: Path) -> dict:
    """Return peak.json for a configuration: the rate, or a refusal's reason where this host cannot run it.

    In the configuration's power mode, as its runs are (set and restored as the runner does;
    record_dir holds the durable record that puts it back after a kill).
    """
    from edgebench.hwconfig import apply as hwapply
    from edgebench.hwconfig import load_board, resolve
    from edgebench.hwconfig.power_mode import power_mode_context
    from edgebench.hwconfig.resolve import HardwareConfigError, check_host

    record = {"hwcfg": hwcfg, "host": socket.gethostname(), "gflops_per_s": None, "reason": None}
    try:
        cfg = resolve(hwcfg, hwconfig, load_board(board))
        check_host(cfg)
        with power_mode_context(cfg, record_dir):
            hwapply.enter(cfg)  # before torch's import: its thread pool reads the variables
            return {**record, "cores": list(cfg.cores), "power_mode": cfg.power_mode,
                    **gemm_gflops(cfg.threads, cfg.gpu)}
    except HardwareConfigError as error:  # PowerModeRefused is one
        return {**record, "reason": str(error)}


def main(argv=None) -> int:
    """Measure one configuration's peak and write it as JSON."""
    parser = argparse.ArgumentParser(prog="python -m edgebench.train.peak", description=__doc__.splitlines()[0])
    parser.add_argument("--board", required=True, help="a bundled board's name or the path of a board description")
    parser.add_argument("--hwcfg", required=True)
    parser.add_argument("--hwconfig", required=True, help="the configuration's config entry, as JSON")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--record-dir", type=Path, default=Path("results/state"),
                        help="where the durable power-mode record lives (the runs' lock directory)")
    args = parser.parse_args(argv)
    from edgebench.atomic import write_text_atomic

    record = measure(args.board, args.hwcfg, json.loads(args.hwconfig), args.record_dir)
    write_text_atomic(args.out, json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
