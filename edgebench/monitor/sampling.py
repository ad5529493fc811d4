"""What every monitor source shares: the Sampler interface, and samplers that run as child processes.

A source (tegrastats, the host sampler, the direct rail sampler, a wall meter) is started before
training and stopped after it, writing its raw log as it goes; sources.py chooses them from a
table. The child-process samplers (host.py, rails.py, wall.py) run as `python -m <module>`, so
that sampling never competes with the training loop for the interpreter, and share the loop
below: a sample at once, one per tick, one more at the stop request. Board side: Python 3.8+.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Protocol

from edgebench.timestamps import utc_now


class Sampler(Protocol):
    """A monitor source beside training: a context manager that samples while it is entered."""

    def __enter__(self): ...

    def __exit__(self, *exc): ...


def run_periodic(log_path, interval_s: float, header: str, take) -> None:
    """Append header, then take(first=True) at once, take(first=False) each interval and once more when stopped.

    take returns the sample's line (without its newline), or None for nothing to write. The
    stop signals (SIGTERM, SIGINT) are blocked and awaited as the pause between samples: a stop
    request ends the pause at once (a sleep would run to its end, delaying every run's finish by
    up to one interval) and can never cut a line being written. Ticks are scheduled from the
    start, so slow samples do not make the rate drift; a sample that overran one or more ticks
    does not cause a burst of catch-up samples: the ticks missed are skipped and counted in a
    `# missed_ticks N <utc>` line, so the log says how far below its rate the source fell.
    """
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    with open(log_path, "a", buffering=1) as log:
        log.write(header.rstrip("\n") + "\n")

        def write(line) -> None:
            if line is not None:
                log.write(line + "\n")

        # A first sample at once, before the training it watches begins (ChildSampler.start waits
        # for it): the trace then covers the first epoch from its start.
        write(take(first=True))
        next_tick = time.monotonic() + interval_s
        while signal.sigtimedwait(stop_signals, max(0.0, next_tick - time.monotonic())) is None:
            write(take(first=False))
            next_tick += interval_s
            late = time.monotonic() - next_tick
            if late > 0:
                missed = int(late // interval_s) + 1
                next_tick += missed * interval_s
                write(f"{MISSED_MARK} {missed} {utc_now()}")
        # A last sample at the stop request: the trace then reaches the end of the training it
        # was stopped after, where the last tick may have come up to an interval before it.
        write(take(first=False))


MISSED_MARK = "# missed_ticks"


def missed_ticks(log_path) -> int:
    """Return how many ticks a child sampler's log says were missed (its samples overran them)."""
    missed = 0
    with open(log_path, errors="replace") as log:
        for line in log:
            if line.startswith(MISSED_MARK):
                try:
                    missed += int(line.split()[2])
                except (IndexError, ValueError):
                    pass  # a marker cut short by a kill
    return missed


class ChildSampler:
    """A sampler run as `python -m <module> --log LOG ...` for the duration of a `with` block."""

    module = ""  # set by each subclass
    what = "sampler"

    def __init__(self, log_path, args=(), stop_timeout_s: float = 10.0):
        self.log_path = Path(log_path)
        self.args = [str(a) for a in args]
        self.stop_timeout_s = stop_timeout_s
        self.process = None

    def start(self, timeout_s: float = 60.0) -> None:
        """Start sampling into the log (appending, so a resumed run keeps earlier samples).

        Returns once the child has written its first sample, so the caller's training window
        never begins before the trace does (interpreter start-up takes seconds on a small board).
        """
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        size_before = self.log_path.stat().st_size if self.log_path.exists() else 0
        command = [sys.executable, "-m", self.module, "--log", str(self.log_path), *self.args]
        self.process = subprocess.Popen(command)
        deadline = time.monotonic() + timeout_s
        while not self._sampled_since(size_before):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.what} exited with code {self.process.returncode} before sampling")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.what} wrote nothing to {self.log_path} within {timeout_s} s")
            time.sleep(0.05)

    def _sampled_since(self, size_before: int) -> bool:
        """Return whether the log holds a sample beyond size_before: a whole line that is not a marker (#)."""
        if not self.log_path.exists() or self.log_path.stat().st_size <= size_before:
            return False
        with open(self.log_path, "rb") as log:
            log.seek(size_before)
            lines = log.read().split(b"\n")[:-1]  # the last piece is not a whole line yet
        return any(line and not line.startswith(b"#") for line in lines)

    def stop(self) -> None:
        """Stop the child (it takes a last sample) and wait for it to flush."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=self.stop_timeout_s)
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


def read_json_log(log_path) -> tuple:
    """Return (the JSON samples of a child sampler's log, in order, how many lines were skipped).

    Lines starting with '#' are the sampler's own markers; a line that is not JSON (one cut
    short by a kill) is skipped and counted.
    """
    rows, skipped = [], 0
    with open(log_path) as log:
        for line in log:
            if line.startswith("#") or not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                skipped += 1
    return rows, skipped
