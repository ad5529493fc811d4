"""tegrastats run beside a training job, each line stamped on arrival into the hw.log."""

from __future__ import annotations

import codecs
import errno
import fcntl
import os
import shutil
import subprocess
import termios
import threading
import tty
from pathlib import Path

from edgebench.monitor.tegrastats.fields import RESTART_MARKER
from edgebench.timestamps import utc_now

# --- running tegrastats ------------------------------------------------------------------


def open_raw_pty() -> tuple[int, int]:
    """Return (our end, the program's end) of a new pseudo-terminal that passes bytes unchanged."""
    # Why a terminal: tegrastats writes through C stdio, which buffers a pipe in blocks of
    # 4 KiB or more, so its lines would come out a dozen at a time and be stamped together,
    # seconds late; on a terminal stdio flushes every line, so each is stamped as printed.
    # `stdbuf -oL` would do the same for tegrastats only (it presets glibc's stdio, and only
    # where the program is linked against glibc dynamically); a terminal works for any
    # program that buffers by isatty(), the fake of the tests (Python) as well.
    # Raw mode: no echo, no \n turned into \r\n, no line editing or signal characters.
    ours, theirs = os.openpty()
    tty.setraw(theirs)
    return ours, theirs


def take_terminal() -> None:
    """Make the terminal on standard output this new session's controlling terminal."""
    # Run in tegrastats' process between fork and exec, after setsid (start_new_session):
    # when our end closes, also because this process died hard, the kernel hangs the session
    # up and tegrastats ends (SIGHUP), as a pipe's reader going away would end it (SIGPIPE).
    # Only a system call here: nothing that could wait for a lock another thread held.
    fcntl.ioctl(1, termios.TIOCSCTTY, 0)


def read_until_hangup(fd: int, chunk: int = 65536):
    """Yield what a pseudo-terminal's program writes, as it comes, until the program is gone."""
    while True:
        try:
            data = os.read(fd, chunk)
        except OSError as error:
            # Linux reads EIO, not b"", once the last holder of the other end closed it (after
            # every byte written before was read).
            if error.errno != errno.EIO:
                raise
            return
        if not data:
            return
        yield data


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
        self._pty: int | None = None  # our end of tegrastats' standard output
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
            self._write(f"{RESTART_MARKER} {utc_now()}\n")
        try:
            self._pty, theirs = open_raw_pty()
            try:
                # No orphan is left if this process dies hard: our end of the terminal closes
                # with it, and tegrastats, whose controlling terminal it is, is hung up.
                self.process = subprocess.Popen(
                    [binary, "--interval", str(self.interval_ms)],
                    stdout=theirs,
                    stderr=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                    text=True,
                    bufsize=1,
                    start_new_session=True,
                    preexec_fn=take_terminal,
                )
            finally:
                os.close(theirs)  # tegrastats holds it now; ours would keep the hang-up away
        except (OSError, subprocess.SubprocessError):  # the latter: take_terminal failed
            self._close_pty()
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
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pending = ""
        for data in read_until_hangup(self._pty):
            # Stamped as read: each line on its own when tegrastats prints it (a terminal).
            stamp = utc_now()
            *lines, pending = (pending + decoder.decode(data)).split("\n")
            for line in lines:
                line = line.rstrip("\r")
                self._write(f"{stamp} {line}\n")
                self.lines_written += 1
        pending += decoder.decode(b"", final=True)
        if pending.strip():
            # Output cut off when the process ended: kept for the record, not parsed.
            self._write(f"# partial {utc_now()} {pending}\n")

    def _pump_stderr(self) -> None:
        for raw in self.process.stderr:
            if raw.strip():
                self._write(f"# stderr {utc_now()} {raw.rstrip()}\n")

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
        if not self._threads[0].is_alive():
            # Closed only once its reader is done: a closed number could be reused for another
            # file while the reader still reads it. (Alive: a child of tegrastats holds the
            # terminal open; the daemon thread and the descriptor go with this process.)
            self._close_pty()
        self.process.stderr.close()
        with self._lock:
            self._log.close()
        code = self.process.returncode
        self.process = None
        return code

    def _close_pty(self) -> None:
        if self._pty is not None:
            os.close(self._pty)
            self._pty = None

    def __enter__(self) -> "TegrastatsRunner":
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        # Stops also when the training raised; the exception then carries on unchanged.
        self.stop()


