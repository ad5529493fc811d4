"""Host sampler for machines without tegrastats: psutil CPU per core, RAM and swap, plus RAPL
(Intel/AMD package and DRAM power) and NVML (NVIDIA GPU load, memory, power) where present.

Runs as its own process (`python -m edgebench.monitor.host --log hw.log`), so sampling never
competes with the training loop for the interpreter; each sample is one JSON line whose keys
already follow DESIGN.md's hw.csv contract.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil

MB = 1024 * 1024
POWERCAP_ROOT = "/sys/class/powercap"


def utc_now() -> str:
    """Return the current time as ISO-8601 UTC with microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


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
    # The signals are blocked and awaited as the pause between samples: a stop request ends
    # the pause at once (a sleep would run to its end, delaying every run's finish by up to
    # one interval) and can never cut a line being written.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    psutil.cpu_percent(percpu=True)  # primes the counters: the first reading is meaningless
    readers = power_readers(powercap_root)
    with open(log_path, "a", buffering=1) as log:
        names = ",".join(type(r).__name__ for r in readers) or "none"
        log.write(f"# host sampler start {utc_now()} interval_s={interval_s} power_readers={names}\n")
        # A first sample at once, before the training it watches begins (HostSampler.start waits
        # for it): the energy counters' starting point, so the trace covers the first epoch from
        # its start. Its CPU loads and RAPL power are over an interval, which it has not had.
        log.write(json.dumps(take_sample(readers, loads=False)) + "\n")
        next_tick = time.monotonic() + interval_s
        while signal.sigtimedwait(stop_signals, max(0.0, next_tick - time.monotonic())) is None:
            log.write(json.dumps(take_sample(readers)) + "\n")
            # Ticks are scheduled from the start, so slow samples do not make the rate drift.
            next_tick += interval_s
        # A last sample at the stop request: the trace then reaches the end of the training it
        # was stopped after, where the last tick may have come up to an interval before it.
        log.write(json.dumps(take_sample(readers)) + "\n")


class HostSampler:
    """Runs the host sampler as a child process for the duration of a `with` block."""

    def __init__(self, log_path, interval_s: float = 1.0, powercap_root=POWERCAP_ROOT):
        self.log_path = Path(log_path)
        self.interval_s = interval_s
        self.powercap_root = powercap_root
        self.process = None

    def start(self, timeout_s: float = 60.0) -> None:
        """Start sampling into the log (appending, so a resumed run keeps earlier samples).

        Returns once the sampler has written its first sample, so the caller's training window
        never begins before the trace does (interpreter start-up takes seconds on a small board).
        """
        size_before = self.log_path.stat().st_size if self.log_path.exists() else 0
        command = [sys.executable, "-m", "edgebench.monitor.host", "--log", str(self.log_path),
                   "--interval", str(self.interval_s), "--powercap-root", str(self.powercap_root)]
        self.process = subprocess.Popen(command)
        deadline = time.monotonic() + timeout_s
        while not self._sampled_since(size_before):
            if self.process.poll() is not None:
                raise RuntimeError(f"host sampler exited with code {self.process.returncode} before sampling")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"host sampler wrote nothing to {self.log_path} within {timeout_s} s")
            time.sleep(0.05)

    def _sampled_since(self, size_before: int) -> bool:
        """Return whether the log holds a sample (a JSON line, after the start marker) beyond size_before."""
        if not self.log_path.exists() or self.log_path.stat().st_size <= size_before:
            return False
        with open(self.log_path, "rb") as log:
            log.seek(size_before)
            return b"\n{" in log.read()

    def stop(self) -> None:
        """Stop the sampler (it takes a last sample) and wait for it to flush."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def parse_host_log(log_path) -> tuple:
    """Return the samples of a host-sampler log as hw.csv rows, and how many lines were skipped."""
    import pandas as pd  # here, not at the top: the sampler process never needs it (0.5 s, 60 MB)

    rows, skipped = [], 0
    with open(log_path) as log:
        for line in log:
            if line.startswith("#") or not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # e.g. a line cut short by a kill
                skipped += 1
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
