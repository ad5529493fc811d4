"""Atomic writes: a reader (or a power cut) sees the old file or the whole new one, never half.

Temporary files and directories are siblings of their target, so the final rename stays on
one file system and is atomic; file data is synced before the rename reaches the disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

# mkstemp/mkdtemp create private (0600/0700) entries; outputs should get the usual
# permissions, so apply the process umask to them as open() and mkdir() would.
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def open_atomic(path):
    """Yield a binary file that replaces `path` when the block succeeds (synced, then renamed).

    Writing through the handle lets large payloads (a VGG-16 checkpoint is ~1 GB) go to disk
    without first being assembled as one more copy in memory.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())  # the rename must not reach the disk before the data does
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path, data: bytes) -> Path:
    """Return path after writing data to a temporary sibling, syncing it and renaming it over path."""
    with open_atomic(path) as handle:
        handle.write(data)
    return Path(path)


def write_text_atomic(path, text: str) -> Path:
    """Return path after writing text (UTF-8) atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path, obj) -> Path:
    """Return path after writing obj as indented JSON atomically."""
    return write_text_atomic(path, json.dumps(obj, indent=2, default=str) + "\n")


def write_csv_atomic(frame, path) -> Path:
    """Return path after writing a DataFrame as CSV (no index) atomically."""
    return write_text_atomic(path, frame.to_csv(index=False))


@contextlib.contextmanager
def atomic_dir(target, *, overwrite=False):
    """Yield a temporary sibling directory that is renamed to `target` if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not overwrite and any(target.iterdir()):
        raise FileExistsError(f"{target}: exists and is not empty (refusing to overwrite)")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        # rename() cannot replace a non-empty directory; move the old one aside first.
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.rename(target, old / "x")
    os.rename(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
