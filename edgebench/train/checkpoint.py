"""Per-epoch checkpoints of a run, in its state directory (never a declared Snakemake output).

One file holds everything needed to continue after the last finished epoch: the framework's
model and optimizer state, the epochs.csv rows so far, and a digest of the weights. It is
replaced atomically, so a write that fails midway leaves the previous checkpoint intact.
Random streams need no saving: every epoch reseeds the data order and both frameworks from
(seed, epoch), so epoch k is the same whether or not the run was interrupted before it.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np

from edgebench.atomic import open_atomic
from edgebench.models.convert import is_torch_only

CHECKPOINT_NAME = "checkpoint.pkl"


def weights_digest(weights: dict) -> str:
    """Return a SHA-256 over a {name: array} weights dict (order-independent).

    Equal weights give equal digests in both frameworks (torch state_dict names, the same
    dtypes and shapes): state that only torch keeps (BatchNorm's num_batches_tracked, a step
    counter rather than a weight) is left out.
    """
    digest = hashlib.sha256()
    for name in sorted(name for name in weights if not is_torch_only(name)):
        array = np.ascontiguousarray(weights[name])
        digest.update(name.encode())
        digest.update(str(array.dtype).encode() + str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def epoch_seed(seed: int, epoch: int) -> int:
    """Return the seed of one epoch's random streams, derived from the run seed."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def save_checkpoint(state_dir, payload: dict) -> Path:
    """Return the checkpoint path after writing payload atomically."""
    path = Path(state_dir) / CHECKPOINT_NAME
    with open_atomic(path) as handle:
        pickle.dump(payload, handle, protocol=5)  # streamed: no second in-memory copy of the state
    return path


def load_checkpoint(state_dir) -> dict | None:
    """Return the last checkpoint's payload, or None if there is none."""
    path = Path(state_dir) / CHECKPOINT_NAME
    if not path.exists():
        return None
    # Written only by this package into the run's own state directory.
    return pickle.loads(path.read_bytes())
