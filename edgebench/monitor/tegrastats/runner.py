"""tegrastats run beside a training job, each line stamped on arrival into the hw.log."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from datetime import datetime, timezone
from pathlib import Path

# --- running tegrastats ------------------------------------------------------------------


def utc_stamp() -> str:
    """Return the current wall-clock time as ISO-8601 UTC with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class TegrastatsRunner:
    """tegrastats as a subprocess whose lines are stamped on arrival and appended to a log."""

    def __init__(self, log_path, interval_ms: int = 1000, binary: str = "tegrastats"):
        self.log_path = Path(log_path)
        self.interval_ms = int(interval_ms)
        if self.interval_ms <= 0:
            raise ValueError(f"tegrastats interval must be a positive number of ms, not {interval_ms!r}")
        self.binary = binary
        self.process: subprocess.Popen | None = None
        self.lines_written = 0
        self._log = None
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def _resolve_binary(self) -> str:
        """Return the executable's path, or raise FileNotFoundError saying what is missing."""
        found = shutil.which(self.binary)
        if found is None:
            raise FileNotFoundError(
                f"tegrastats binary {self.binary!r} not found (PATH={os.environ.get('PATH', '')!r}); "
                "on a Jetson it ships with L4T as /usr/bin/tegrastats (L4T 28.x: ~/tegrastats)"
            )
        return found

    def start(self) -> "TegrastatsRunner":
        """Return self after starting tegrastats and the thread that stamps its lines."""
        if self.process is not None:
            raise RuntimeError(f"tegrastats runner for {self.log_path} already started")
        binary = self._resolve_binary()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        resumed = self.log_path.exists() and self.log_path.stat().st_size > 0
        # Append, never truncate: a resumed run keeps the samples of its earlier attempts.
        self._log = open(self.log_path, "a", encoding="utf-8")
        if resumed:
            self._write(f"# restart {utc_stamp()}\n")
        try:
            # No orphan is left if this process dies hard: our end of the pipe closes with it,
            # and tegrastats ends on its next write (SIGPIPE).
            self.process = subprocess.Popen(
                [binary, "--interval", str(self.interval_ms)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
                bufsize=1,
            )
        except OSError:
            self._log.close()
            raise
        self._threads = [
            threading.Thread(target=self._pump_stdout, name="tegrastats-stdout", daemon=True),
            threading.Thread(target=self._pump_stderr, name="tegrastats-stderr", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def _write(self, text: str) -> None:
        with self._lock:
            self._log.write(text)
            # Flushed per line so a crash of the training loses no sample already seen.
            self._log.flush()

    def _pump_stdout(self) -> None:
        for raw in self.process.stdout:
            stamp = utc_stamp()
            if raw.endswith("\n"):
                self._write(f"{stamp} {raw}")
                self.lines_written += 1
            elif raw.strip():
                # Output cut off when the process ended: kept for the record, not parsed.
                self._write(f"# partial {stamp} {raw}\n")

    def _pump_stderr(self) -> None:
        for raw in self.process.stderr:
            if raw.strip():
                self._write(f"# stderr {utc_stamp()} {raw.rstrip()}\n")

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """Return tegrastats' exit code after stopping it and closing the log."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for thread in self._threads:
            thread.join(timeout=timeout_s)
        self.process.stdout.close()
        self.process.stderr.close()
        with self._lock:
            self._log.close()
        code = self.process.returncode
        self.process = None
        return code

    def __enter__(self) -> "TegrastatsRunner":
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        # Stops also when the training raised; the exception then carries on unchanged.
        self.stop()


