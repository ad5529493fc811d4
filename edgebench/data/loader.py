"""The `cache` loader: seeded batches from the prepared arrays, identical for every framework.

Order and flip decisions depend only on (seed, epoch), never on the framework, the batch size
or the process, so PyTorch and MXNet see the same samples in the same order with the same
augmentation. Batches are plain numpy arrays; each framework wraps them itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# ImageNet channel statistics (RGB, on 0..1 pixels), as torchvision and Gluon use them.
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

# Distinct stream numbers so the order and the flips of an epoch are independent draws.
_ORDER_STREAM, _FLIP_STREAM = 0, 1


class CachedSplit:
    """One split of a prepared directory: memory-mapped images and in-memory labels."""

    def __init__(self, prepared_dir, split):
        prepared_dir = Path(prepared_dir)
        x_path, y_path = prepared_dir / f"{split}_x.npy", prepared_dir / f"{split}_y.npy"
        for path in (x_path, y_path, prepared_dir / "classes.json"):
            if not path.is_file():
                raise FileNotFoundError(f"{path}: missing (is {prepared_dir} a prepared directory?)")
        self.split = split
        self.x = np.load(x_path, mmap_mode="r")
        self.y = np.load(y_path)
        self.classes = json.loads((prepared_dir / "classes.json").read_text())
        if self.x.ndim != 4 or self.x.shape[3] != 3 or self.x.dtype != np.uint8:
            raise ValueError(f"{x_path}: expected uint8 N x H x W x 3, got {self.x.dtype} {self.x.shape}")
        if len(self.x) != len(self.y):
            raise ValueError(f"{prepared_dir}: {split} has {len(self.x)} images but {len(self.y)} labels")

    def __len__(self):
        return len(self.y)

    @property
    def num_classes(self):
        """Return the number of classes of the prepared subset (all splits share them)."""
        return len(self.classes)

    @property
    def image_size(self):
        """Return the side of the square images in pixels."""
        return int(self.x.shape[1])


def epoch_order(n, *, seed, epoch, shuffle=True):
    """Return the sample indices of one epoch: a permutation fixed by (seed, epoch)."""
    if not shuffle:
        return np.arange(n)
    return np.random.default_rng([seed, epoch, _ORDER_STREAM]).permutation(n)


def flip_decisions(n, *, seed, epoch):
    """Return a boolean array: True where sample i is flipped horizontally in this epoch."""
    # Indexed by sample, not by position in a batch, so decisions survive any batch size.
    return np.random.default_rng([seed, epoch, _FLIP_STREAM]).random(n) < 0.5


def normalize(images):
    """Return uint8 N x H x W x 3 images as float32 N x 3 x H x W, ImageNet-normalized."""
    x = images.astype(np.float32) / 255.0
    x -= IMAGENET_MEAN
    x /= IMAGENET_STD
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


# BatchNorm cannot normalise a single sample in training mode: PyTorch raises, MXNet goes on
# (with a zero variance), so one framework would fail the run the other finishes.
MIN_TRAINING_BATCH = 2


def drop_last_training_batch(n: int, batch_size: int) -> bool:
    """Return whether a training pass over n samples drops its last batch (fewer than MIN_TRAINING_BATCH).

    One policy for both frameworks, so both see the same samples. Validation keeps every sample.
    """
    return 0 < n % batch_size < MIN_TRAINING_BATCH and n > batch_size


def samples_per_pass(n: int, batch_size: int, *, train: bool) -> int:
    """Return how many of n samples one pass uses (a training pass may drop a one-sample last batch)."""
    return n - n % batch_size if train and drop_last_training_batch(n, batch_size) else n


def batches_per_epoch(split, batch_size, drop_last=False):
    """Return the number of batches one epoch of `split` yields."""
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}: must be >= 1")
    full, rest = divmod(len(split), batch_size)
    return full if drop_last or rest == 0 else full + 1


def iterate_batches(split, batch_size, *, seed, epoch, shuffle=True, augment=False, drop_last=False):
    """Yield (float32 N x 3 x H x W normalized images, int64 labels) batches of one epoch."""
    n = len(split)
    order = epoch_order(n, seed=seed, epoch=epoch, shuffle=shuffle)
    flips = flip_decisions(n, seed=seed, epoch=epoch) if augment else None
    for b in range(batches_per_epoch(split, batch_size, drop_last)):
        idx = order[b * batch_size:(b + 1) * batch_size]
        # Reading sorted indices from the memory map is sequential-friendly; then restore order.
        sort = np.argsort(idx, kind="stable")
        images = np.empty((len(idx),) + split.x.shape[1:], dtype=np.uint8)
        images[sort] = split.x[idx[sort]]
        if flips is not None:
            flip = flips[idx]
            images[flip] = images[flip, :, ::-1, :]
        yield normalize(images), split.y[idx].astype(np.int64, copy=False)
