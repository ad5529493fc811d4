"""Atomic file writes: a reader (or a power cut) sees the old file or the new one, never half."""

import os
from pathlib import Path


def write_bytes_atomic(path, data: bytes) -> Path:
    """Return path after writing data to a temporary sibling, syncing it and renaming it over path."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())  # the rename must not reach the disk before the data does
    os.replace(tmp, path)
    return path


def write_text_atomic(path, text: str) -> Path:
    """Return path after writing text atomically (UTF-8)."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_csv_atomic(frame, path) -> Path:
    """Return path after writing a DataFrame as CSV (no index) atomically."""
    return write_text_atomic(path, frame.to_csv(index=False))
