"""Logging for workflow jobs: one log file per job (Snakemake's `log:`), also echoed to stderr."""

from __future__ import annotations

import logging
import sys


def setup(log_path=None, level=logging.INFO) -> None:
    """Send the package's log records to log_path (if given) and to stderr."""
    handlers = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="a"))
    logging.basicConfig(level=level, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
