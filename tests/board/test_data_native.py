"""Native mode: the JPEG subset folder, torchvision and Gluon loaders over it."""

import numpy as np
import pandas as pd
import pytest

from edgebench.data.demo import generate_demo_tree
from edgebench.data.loader import epoch_order
from edgebench.data.native import gluon_loader, materialize_subset, skipped_paths, torch_loader
from edgebench.data.prepare import prepare
from edgebench.data.scan import write_stats
from edgebench.data.subset import write_subset

SIZE = 24


@pytest.fixture(scope="module")
def subset(tmp_path_factory):
    base = tmp_path_factory.mktemp("native")
    root = base / "imagenet"
    summary = generate_demo_tree(root, seed=4, train_per_class=6, val_per_class=2, distractor_classes=2)
    write_stats(root, base / "stats.json")
    # All eligible files: the traps are in the subset (if inside the size band).
    write_subset(root, base / "stats.json", base / "manifest.csv", base / "subset_report.json",
                 classes="thesis10", train_per_class=6, val_per_class=2, seed=0)
    prepare(root, base / "manifest.csv", SIZE, base / "prepared")
    counts = materialize_subset(root, base / "manifest.csv", base / "jpeg",
                                exclude=skipped_paths(base / "prepared" / "report.json"))
    return base, summary, pd.read_csv(base / "manifest.csv"), counts


def _expected_labels(manifest, split, excluded):
    rows = manifest[(manifest["split"] == split) & ~manifest["path"].isin(excluded)]
    rows = rows.assign(name=rows["path"].str.rsplit("/", n=1).str[-1]).sort_values(["wnid", "name"])
    return rows["label"].to_numpy()


def test_materialized_folder_mirrors_manifest_minus_skipped(subset):
    base, summary, manifest, counts = subset
    excluded = skipped_paths(base / "prepared" / "report.json")
    assert counts["excluded"] == excluded
    if summary["traps"]["truncated"] in set(manifest["path"]):
        assert excluded == [summary["traps"]["truncated"]]
    for split in ("train", "val"):
        links = sorted((base / "jpeg" / split).glob("*/*"))
        assert len(links) == counts["linked"][split] == int((manifest["split"] == split).sum()) - (
            len(excluded) if split == "train" else 0)
        assert all(p.is_symlink() and p.resolve().is_file() for p in links)


def test_torch_loader_order_labels_and_shapes(subset):
    base, _, manifest, counts = subset
    labels = _expected_labels(manifest, "train", counts["excluded"])
    loader = torch_loader(base / "jpeg", "train", SIZE, 4, seed=3, epoch=1)
    batches = list(loader)
    x = np.concatenate([b[0].numpy() for b in batches])
    y = np.concatenate([b[1].numpy() for b in batches])
    assert x.shape == (len(labels), 3, SIZE, SIZE) and x.dtype == np.float32
    assert (y == labels[epoch_order(len(labels), seed=3, epoch=1)]).all()
    assert -2.2 < x.min() and x.max() < 2.7
    loader.sampler.set_epoch(2)
    y2 = np.concatenate([b[1].numpy() for b in loader])
    assert (y2 == labels[epoch_order(len(labels), seed=3, epoch=2)]).all()


def test_gluon_loader_matches_torch_order_and_is_close_in_pixels(subset):
    base, _, manifest, counts = subset
    labels = _expected_labels(manifest, "val", counts["excluded"])
    gluon = list(gluon_loader(base / "jpeg", "val", SIZE, 4, seed=3, epoch=0))
    torch_batches = list(torch_loader(base / "jpeg", "val", SIZE, 4, seed=3, epoch=0))
    gx = np.concatenate([b[0].asnumpy() for b in gluon])
    gy = np.concatenate([b[1].asnumpy() for b in gluon]).astype(np.int64)
    tx = np.concatenate([b[0].numpy() for b in torch_batches])
    assert gx.shape == tx.shape == (len(labels), 3, SIZE, SIZE)
    assert (gy == labels[epoch_order(len(labels), seed=3, epoch=0)]).all()
    # Same images, same geometry; decoders (libjpeg via Pillow vs OpenCV) and resize kernels
    # differ slightly, so compare on average.
    assert np.abs(gx - tx).mean() < 0.15
