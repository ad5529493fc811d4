"""Host sampler for machines without tegrastats: psutil CPU per core, RAM and swap, plus RAPL
(Intel/AMD package and DRAM power) and NVML (NVIDIA GPU load, memory, power) where present.

Runs as its own process (`python -m edgebench.monitor.host --log hw.log`), so sampling never
competes with the training loop for the interpreter; each sample is one JSON line whose keys
already follow the hw.csv contract (docs/design.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import psutil

from edgebench.monitor.sampling import ChildSampler, read_json_log, run_periodic
from edgebench.timestamps import utc_now

MB = 1024 * 1024
POWERCAP_ROOT = "/sys/class/powercap"


def take_sample(readers=(), loads: bool = True) -> dict:
    """Return one sample with hw.csv column names (CPU load and RAPL power since the previous call).

    loads=False leaves the CPU loads out: the first sample, taken at once, has no interval to
    measure them over.
    """
    sample = {"timestamp": utc_now()}
    # The power readers first, right at the timestamp: an energy counter is differenced between
    # samples by their timestamps, so it must be read when the sample says it was.
    for reader in readers:
        sample.update(reader.read())
    memory, swap = psutil.virtual_memory(), psutil.swap_memory()
    # "used" as tegrastats reports it: memory not available to new work (excludes cache).
    sample["ram_used_mb"] = round((memory.total - memory.available) / MB, 1)
    sample["ram_total_mb"] = round(memory.total / MB, 1)
    sample["swap_used_mb"] = round(swap.used / MB, 1)
    sample["swap_total_mb"] = round(swap.total / MB, 1)
    for i, load in enumerate(psutil.cpu_percent(percpu=True) if loads else ()):
        sample[f"cpu{i}_load_pct"] = load
    try:
        frequencies = psutil.cpu_freq(percpu=True) or []
    except (OSError, NotImplementedError):  # no cpufreq in some VMs and containers
        frequencies = []
    for i, freq in enumerate(frequencies):
        sample[f"cpu{i}_freq_mhz"] = round(freq.current, 1)
    return sample


def power_readers(powercap_root=POWERCAP_ROOT) -> list:
    """Return the power readers this host supports (RAPL, NVML)."""
    from edgebench.monitor.nvml import NvmlReader
    from edgebench.monitor.rapl import RaplReader

    return [reader for reader in (RaplReader(powercap_root), NvmlReader()) if reader.available()]


def run_sampler(log_path: Path, interval_s: float, powercap_root=POWERCAP_ROOT) -> None:
    """Append one JSON sample at once, one per interval, and one more when stopped (SIGTERM, SIGINT)."""
    psutil.cpu_percent(percpu=True)  # primes the counters: the first reading is meaningless
    readers = power_readers(powercap_root)
    names = ",".join(type(r).__name__ for r in readers) or "none"
    # The first sample is the energy counters' starting point; its CPU loads and RAPL power are
    # over an interval, which it has not had.
    header = f"# host sampler start {utc_now()} interval_s={interval_s} power_readers={names}"
    run_periodic(log_path, interval_s, header, lambda first: json.dumps(take_sample(readers, loads=not first)))


class HostSampler(ChildSampler):
    """Runs the host sampler as a child process for the duration of a `with` block."""

    module = "edgebench.monitor.host"
    what = "host sampler"

    def __init__(self, log_path, interval_s: float = 1.0, powercap_root=POWERCAP_ROOT):
        super().__init__(log_path, ["--interval", interval_s, "--powercap-root", powercap_root])
        self.interval_s = interval_s
        self.powercap_root = powercap_root


def parse_host_log(log_path) -> tuple:
    """Return the samples of a host-sampler log as hw.csv rows, and how many lines were skipped."""
    import pandas as pd  # here, not at the top: the sampler process never needs it (0.5 s, 60 MB)

    rows, skipped = read_json_log(log_path)
    return pd.DataFrame(rows), skipped


def main(argv=None) -> int:
    """Run the sampler from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", required=True, type=Path, help="JSON-lines log to append to")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    parser.add_argument("--powercap-root", default=POWERCAP_ROOT,
                        help="the powercap sysfs directory holding the RAPL zones (default %(default)s)")
    args = parser.parse_args(argv)
    run_sampler(args.log, args.interval, args.powercap_root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
