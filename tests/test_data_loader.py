"""The cache loader: seeded order, flips, normalization, batch counts, real prepared data."""

import json

import numpy as np
import pytest

from edgebench.data.demo import generate_demo_tree
from edgebench.data.loader import (
    IMAGENET_MEAN, IMAGENET_STD, CachedSplit, batches_per_epoch, iterate_batches,
)
from edgebench.data.prepare import prepare
from tests.conftest import write_manifest

N, SIDE = 23, 4


@pytest.fixture
def split(tmp_path):
    # Image i is filled with value i (row 0 of it made brighter on the left, to see flips).
    x = np.repeat(np.arange(N, dtype=np.uint8), SIDE * SIDE * 3).reshape(N, SIDE, SIDE, 3).copy()
    x[:, 0, 0, :] = 200
    np.save(tmp_path / "train_x.npy", x)
    np.save(tmp_path / "train_y.npy", np.arange(N, dtype=np.int64) % 5)
    (tmp_path / "classes.json").write_text(json.dumps([f"n{i:08d}" for i in range(5)]))
    return CachedSplit(tmp_path, "train")


def _denormalize(batch):
    pixels = batch.transpose(0, 2, 3, 1) * IMAGENET_STD + IMAGENET_MEAN
    return np.rint(pixels * 255).astype(int)


def _epoch(split, batch_size=4, **options):
    batches = list(iterate_batches(split, batch_size, **options))
    images = np.concatenate([_denormalize(x) for x, _ in batches])
    labels = np.concatenate([y for _, y in batches])
    return batches, images, labels


def test_split_basics(split):
    assert len(split) == N and split.num_classes == 5 and split.image_size == SIDE


def test_same_seed_and_epoch_same_order_other_epoch_differs(split):
    _, first, labels = _epoch(split, seed=7, epoch=0)
    _, again, _ = _epoch(split, seed=7, epoch=0)
    _, next_epoch, _ = _epoch(split, seed=7, epoch=1)
    _, other_seed, _ = _epoch(split, seed=8, epoch=0)
    order = first[:, 1, 1, 0]
    assert sorted(order.tolist()) == list(range(N))  # each sample exactly once
    assert (labels == order % 5).all()  # labels travel with their images
    assert (again[:, 1, 1, 0] == order).all()
    assert (next_epoch[:, 1, 1, 0] != order).any()
    assert (other_seed[:, 1, 1, 0] != order).any()
    _, unshuffled, _ = _epoch(split, seed=7, epoch=0, shuffle=False)
    assert unshuffled[:, 1, 1, 0].tolist() == list(range(N))


def test_normalization_layout_and_dtypes(split):
    batches, _, _ = _epoch(split, seed=0, epoch=0, shuffle=False)
    x, y = batches[0]
    assert x.dtype == np.float32 and x.shape == (4, 3, SIDE, SIDE) and x.flags["C_CONTIGUOUS"]
    assert y.dtype == np.int64
    # Sample 0: pixel (0, 0) is 200, the others 0.
    expected_200 = (200 / 255 - IMAGENET_MEAN) / IMAGENET_STD
    expected_0 = -IMAGENET_MEAN / IMAGENET_STD
    np.testing.assert_allclose(x[0, :, 0, 0], expected_200, rtol=1e-6)
    np.testing.assert_allclose(x[0, :, 1, 1], expected_0, rtol=1e-6)


def test_flips_are_deterministic_per_sample_and_batch_size_free(split):
    _, a, _ = _epoch(split, batch_size=4, seed=3, epoch=2, augment=True)
    _, b, _ = _epoch(split, batch_size=7, seed=3, epoch=2, augment=True)
    _, plain, _ = _epoch(split, batch_size=4, seed=3, epoch=2)
    flipped_a = a[:, 0, -1, 0] == 200
    assert (a == b).all()
    assert 0 < flipped_a.sum() < N  # some flipped, some not
    assert (a[flipped_a] == plain[flipped_a][:, :, ::-1, :]).all()
    assert (a[~flipped_a] == plain[~flipped_a]).all()
    _, c, _ = _epoch(split, seed=3, epoch=3, augment=True)
    order_a, order_c = a[:, 1, 1, 0], c[:, 1, 1, 0]
    flips_by_sample_a = dict(zip(order_a, flipped_a))
    flips_by_sample_c = dict(zip(order_c, c[:, 0, -1, 0] == 200))
    assert flips_by_sample_a != flips_by_sample_c


def test_batch_counts_and_drop_last(split):
    assert batches_per_epoch(split, 4) == 6
    assert batches_per_epoch(split, 4, drop_last=True) == 5
    assert batches_per_epoch(split, 23) == 1
    sizes = [len(y) for _, y in iterate_batches(split, 4, seed=0, epoch=0, drop_last=True)]
    assert sizes == [4] * 5
    sizes = [len(y) for _, y in iterate_batches(split, 4, seed=0, epoch=0)]
    assert sizes == [4] * 5 + [3]
    with pytest.raises(ValueError, match="batch_size"):
        batches_per_epoch(split, 0)


def test_missing_prepared_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="val_x.npy"):
        CachedSplit(tmp_path, "val")


def test_reads_real_prepared_demo_data(tmp_path):
    root = tmp_path / "imagenet"
    generate_demo_tree(root, seed=2, train_per_class=4, val_per_class=1, distractor_classes=0, traps=False)
    frame = write_manifest(root, tmp_path / "m.csv", splits=("train",))
    prepare(root, tmp_path / "m.csv", 16, tmp_path / "p16")
    split = CachedSplit(tmp_path / "p16", "train")
    assert len(split) == 40 and split.num_classes == 10
    x, y = next(iterate_batches(split, 40, seed=0, epoch=0))
    assert x.shape == (40, 3, 16, 16) and sorted(y.tolist()) == sorted(frame["label"].tolist())
    assert -2.2 < x.min() and x.max() < 2.7  # inside ImageNet-normalized range
