"""Kernel file locks (flock) for runs and measurements.

Snakemake's own directory lock survives kill -9 and power cuts and then blocks the plain rerun
the users rely on, so the workflow profile turns it off (nolock). These locks take its place
where it matters: the kernel releases them when the holding process dies, however it dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("edgebench.locks")


class RunBusyError(RuntimeError):
    """Another live process holds the lock of this run."""


@contextmanager
def exclusive(path, *, wait: bool, what: str):
    """Hold an exclusive flock on path for the block; wait for it, or raise RunBusyError."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            if not wait:
                raise RunBusyError(f"{what} is locked by another live process ({holder}); {path}") from None
            log.info("waiting for %s, held by %s", what, holder)
            fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
