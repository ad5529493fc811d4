"""Room on disk for a run's checkpoints, checked before training rather than found missing after it.

A checkpoint holds the weights and SGD's momentum (twice the weights); it replaces the previous
one atomically, so while it is written both exist: a run that checkpoints more than once needs
room for two. Board side: Python 3.8+.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from edgebench.train.spec import RunRefused

# Run files beside the checkpoints (logs, monitor samples, the run's tables): a generous allowance.
RUN_FILES_BYTES = 16 * 1024 * 1024


def checkpoint_bytes(weights_bytes: int) -> int:
    """Return the expected size of one checkpoint: the weights, their momentum, and pickling's overhead."""
    return int(2 * weights_bytes * 1.05) + 1024 * 1024


def check_room(state_dir: Path, weights_bytes: int, checkpoints_with_weights: int) -> None:
    """Raise RunRefused naming the directory, the space needed and the space free if the run cannot fit."""
    one = checkpoint_bytes(weights_bytes)
    needed = one * min(max(checkpoints_with_weights, 0), 2) + RUN_FILES_BYTES
    free = shutil.disk_usage(state_dir).free
    if free < needed:
        raise RunRefused(f"{state_dir}: needs {needed / 2**20:.0f} MiB free for this run's checkpoints "
                         f"({one / 2**20:.0f} MiB each, two at once while one replaces the other), "
                         f"{free / 2**20:.0f} MiB free")
