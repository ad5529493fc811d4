"""CPU use of a 1 Hz hardware sampler (goal: <= 1% of one core), measured on this machine.

Two subjects, each run as its own process for --seconds after a warm-up (imports and the
first readings are not steady state), its CPU time read from the OS via psutil:
  host     the lead's host sampler, `python -m edgebench.monitor.host --log ... --interval 1`,
           when that module exists in --repo;
  readers  a bare 1 Hz loop over what a host sampler reads: psutil (per-core load and
           frequency, RAM, swap), RaplReader and NvmlReader (each only if available here).
Also prints the cost of one RaplReader.read() over a fake 2-socket powercap tree, since this
machine has no RAPL of its own.

    python bench/sampler_cpu.py [--seconds 60] [--repo PATH]
"""

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]


def readers_loop(interval_s: float) -> None:
    """Sample psutil, RAPL and NVML every interval_s until terminated."""
    from edgebench.monitor.nvml import NvmlReader
    from edgebench.monitor.rapl import RaplReader

    rapl, nvml = RaplReader(), NvmlReader()
    rapl_on, nvml_on = rapl.available(), nvml.available()
    print(f"readers: rapl={'on' if rapl_on else 'off'} nvml={'on' if nvml_on else 'off'}", flush=True)
    psutil.cpu_percent(percpu=True)
    start = time.monotonic()
    k = 0
    while True:
        k += 1
        time.sleep(max(0.0, start + k * interval_s - time.monotonic()))
        row = {f"cpu{i}_load_pct": v for i, v in enumerate(psutil.cpu_percent(percpu=True))}
        row.update({f"cpu{i}_freq_mhz": f.current for i, f in enumerate(psutil.cpu_freq(percpu=True) or [])})
        memory, swap = psutil.virtual_memory(), psutil.swap_memory()
        row["ram_used_mb"], row["swap_used_mb"] = memory.used / 2**20, swap.used / 2**20
        if rapl_on:
            row.update(rapl.read())
        if nvml_on:
            row.update(nvml.read())


def measure(command: list[str], env: dict, seconds: float, warmup_s: float = 3.0) -> float:
    """Return the CPU use of a process running command, in % of one core, over `seconds`."""
    process = subprocess.Popen(command, env=env, cwd=env["PYTHONPATH"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(warmup_s)
        if process.poll() is not None:
            raise RuntimeError(f"{command} exited early: {process.stdout.read()}")
        watched = psutil.Process(process.pid)
        before, t0 = watched.cpu_times(), time.monotonic()
        time.sleep(seconds)
        after, t1 = watched.cpu_times(), time.monotonic()
    finally:
        process.terminate()
        process.wait(timeout=10)
    used = (after.user - before.user) + (after.system - before.system)
    return 100.0 * used / (t1 - t0)


def rapl_read_cost(repeats: int = 2000) -> float:
    """Return the microseconds one RaplReader.read() takes over a fake 5-zone tree."""
    sys.path.insert(0, str(REPO / "tests"))
    from fakes.sysfs import make_rapl_zone

    from edgebench.monitor.rapl import RaplReader

    with tempfile.TemporaryDirectory() as tmp:
        for zone, name in [("intel-rapl:0", "package-0"), ("intel-rapl:0:0", "core"), ("intel-rapl:0:1", "dram"),
                           ("intel-rapl:1", "package-1"), ("intel-rapl:1:0", "dram")]:
            make_rapl_zone(tmp, zone, name, energy_uj=123456)
        reader = RaplReader(tmp)
        start = time.perf_counter()
        for _ in range(repeats):
            reader.read()
        return (time.perf_counter() - start) / repeats * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose edgebench package is measured")
    parser.add_argument("--readers-loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.readers_loop:
        readers_loop(1.0)
        return 0

    env = dict(os.environ, PYTHONPATH=str(args.repo))
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; window {args.seconds:.0f} s at 1 Hz")
    with tempfile.TemporaryDirectory() as tmp:
        host_module = args.repo / "edgebench" / "monitor" / "host.py"
        if host_module.exists():
            pct = measure([sys.executable, "-m", "edgebench.monitor.host", "--log", f"{tmp}/hw.log",
                           "--interval", "1"], env, args.seconds)
            print(f"host sampler (python -m edgebench.monitor.host): {pct:.3f}% of one core")
        else:
            print(f"host sampler: {host_module} not present, not measured")
    pct = measure([sys.executable, str(Path(__file__).resolve()), "--readers-loop", "--repo", str(args.repo)], env, args.seconds)
    print(f"readers loop (psutil + RAPL + NVML where available): {pct:.3f}% of one core")
    print(f"RaplReader.read() over a fake 5-zone tree: {rapl_read_cost():.1f} us per call")
    # psutil's CPU times count in clock ticks (10 ms): that bounds the figures' resolution.
    print(f"resolution of the figures: {100 * 0.01 / args.seconds:.3f}% of one core; goal <= 1% of one core")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
