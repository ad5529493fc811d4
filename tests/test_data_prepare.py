"""Prepare: decoding traps, skipping corrupt files, geometry, outputs, bad input."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from edgebench.data.demo import generate_demo_tree
from edgebench.data.prepare import prepare, resize_and_crop
from tests.conftest import write_manifest


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    base = tmp_path_factory.mktemp("prep")
    root = base / "imagenet"
    summary = generate_demo_tree(root, seed=1, train_per_class=6, val_per_class=2, distractor_classes=1)
    manifest = write_manifest(root, base / "manifest.csv")
    report = prepare(root, base / "manifest.csv", 32, base / "out")
    return base, summary, manifest, report


def test_traps_decoded_and_corrupt_file_skipped_and_listed(prepared):
    base, summary, manifest, report = prepared
    assert report["skipped_count"] == 1
    skipped = report["skipped"][0]
    assert skipped["path"] == summary["traps"]["truncated"]
    assert "truncated" in skipped["reason"]
    assert report["source_modes"]["CMYK"] == 1
    assert report["source_modes"]["L"] == 1
    assert report["source_modes"]["P"] == 1
    assert report["source_formats"]["PNG"] == 1
    n_train = int((manifest["split"] == "train").sum())
    assert report["splits"]["train"] == {"listed": n_train, "written": n_train - 1, "skipped": 1}
    on_disk = json.loads((base / "out" / "report.json").read_text())
    assert on_disk["skipped"] == report["skipped"]


def test_arrays_shapes_dtypes_and_labels(prepared):
    base, summary, manifest, _ = prepared
    out = base / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["train_x.npy", "train_y.npy", "val_x.npy", "val_y.npy", "classes.json", "report.json"])
    x, y = np.load(out / "train_x.npy"), np.load(out / "train_y.npy")
    kept = manifest[(manifest["split"] == "train") & (manifest["path"] != summary["traps"]["truncated"])]
    assert x.dtype == np.uint8 and x.shape == (len(kept), 32, 32, 3)
    assert y.dtype == np.int64 and y.tolist() == kept["label"].tolist()
    val_x = np.load(out / "val_x.npy")
    assert val_x.shape == (int((manifest["split"] == "val").sum()), 32, 32, 3)
    assert json.loads((out / "classes.json").read_text()) == sorted(summary["classes"])
    # Real content, not zeros: every image has texture.
    assert (x.reshape(len(x), -1).std(axis=1) > 5).all()
    # No temporary directory left beside the output.
    assert not [p for p in base.iterdir() if p.name.startswith(".")]


def _tree_with(tmp_path, images):
    root = tmp_path / "root"
    rows = []
    for i, (image, fmt) in enumerate(images):
        path = root / "train" / "n00000001" / f"n00000001_{i}.JPEG"
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
        rows.append(("train", "n00000001", 0, path.relative_to(root).as_posix(), path.stat().st_size))
    pd.DataFrame(rows, columns=["split", "wnid", "label", "path", "bytes"]).to_csv(tmp_path / "m.csv", index=False)
    return root, tmp_path / "m.csv"


def test_modes_become_the_right_rgb_colours(tmp_path):
    colour = (200, 40, 30)
    rgb = Image.new("RGB", (48, 40), colour)
    root, manifest = _tree_with(tmp_path, [
        (rgb.convert("CMYK"), "JPEG"),
        (Image.new("L", (40, 48), 128), "JPEG"),
        (rgb.quantize(4), "PNG"),
        (Image.new("RGBA", (40, 40), colour + (255,)), "PNG"),
    ])
    prepare(root, manifest, 16, tmp_path / "out")
    x = np.load(tmp_path / "out" / "train_x.npy").astype(int)
    assert x.shape == (4, 16, 16, 3)
    assert np.abs(x[0] - colour).max() <= 8  # JPEG round trip through CMYK
    assert np.abs(x[1] - 128).max() <= 2
    assert (x[2] == colour).all() and (x[3] == colour).all()


def _bands(width, height, horizontal=True):
    # Three bands: red | green | blue along the long side, the green one as long as the short side.
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    long_side, short = max(width, height), min(width, height)
    edge = (long_side - short) // 2
    for start, stop, channel in ((0, edge, 0), (edge, edge + short, 1), (edge + short, long_side, 2)):
        if horizontal:
            pixels[:, start:stop, channel] = 255
        else:
            pixels[start:stop, :, channel] = 255
    return Image.fromarray(pixels)


@pytest.mark.parametrize("width,height,size", [(40, 20, 20), (80, 40, 20), (30, 90, 12)])
def test_resize_shorter_side_then_centre_crop(width, height, size):
    image = _bands(width, height, horizontal=width > height)
    out = np.asarray(resize_and_crop(image, size)).astype(int)
    assert out.shape == (size, size, 3)
    # Everything kept comes from the centre (green) band; bilinear blending may touch only
    # the outermost row/column.
    inner = out[1:-1, 1:-1]
    assert (inner[..., 1] >= 250).all() and (inner[..., 0] <= 5).all() and (inner[..., 2] <= 5).all()
    assert out[..., 1].mean() > 240


def test_missing_listed_file_is_skipped_not_fatal(tmp_path):
    root, manifest = _tree_with(tmp_path, [(Image.new("RGB", (20, 20), (1, 2, 3)), "JPEG")] * 2)
    (root / "train" / "n00000001" / "n00000001_1.JPEG").unlink()
    report = prepare(root, manifest, 8, tmp_path / "out")
    assert report["splits"]["train"]["written"] == 1
    assert report["skipped"][0]["reason"].startswith("FileNotFoundError")
    assert np.load(tmp_path / "out" / "train_x.npy").shape == (1, 8, 8, 3)


def test_bad_roots_and_manifests_are_clear_errors(tmp_path):
    root, manifest = _tree_with(tmp_path, [(Image.new("RGB", (20, 20)), "JPEG")])
    with pytest.raises(FileNotFoundError, match="nowhere"):
        prepare(tmp_path / "nowhere", manifest, 8, tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty"):
        prepare(tmp_path / "empty", manifest, 8, tmp_path / "out")
    bad = pd.read_csv(manifest)
    bad["label"] = 3
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="labels"):
        prepare(root, tmp_path / "bad.csv", 8, tmp_path / "out")
    bad.drop(columns=["bytes"]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="bytes"):
        prepare(root, tmp_path / "bad.csv", 8, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_rerun_replaces_output_atomically(tmp_path):
    root, manifest = _tree_with(tmp_path, [(Image.new("RGB", (20, 20), (9, 9, 9)), "JPEG")])
    prepare(root, manifest, 8, tmp_path / "out")
    prepare(root, manifest, 4, tmp_path / "out")
    assert np.load(tmp_path / "out" / "train_x.npy").shape == (1, 4, 4, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv", "out", "root"]
