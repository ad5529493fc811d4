"""The demo ImageNet tree: layout, determinism, traps, file-size shape, learnability; the demo's
own dataset (config/demo.yaml) and the demo-full overlay."""

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import yaml
from PIL import Image

from edgebench.data.demo import DISTRACTOR_WNIDS, THESIS_WNIDS, WNID_NAMES, generate_demo_tree
from edgebench.data.prepare import prepare
from edgebench.data.scan import scan_tree
from edgebench.data.subset import select_subset
from edgebench.models import MODEL_NAMES, min_input_size

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "imagenet"
    return root, generate_demo_tree(root, seed=0)


def _files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_layout_follows_ilsvrc(demo):
    root, summary = demo
    wnids = THESIS_WNIDS + DISTRACTOR_WNIDS[:4]
    assert summary["classes"] == wnids
    assert sorted(p.name for p in (root / "train").iterdir()) == sorted(wnids)
    assert sorted(p.name for p in (root / "val").iterdir()) == sorted(wnids)
    val_numbers = []
    for wnid in wnids:
        train = sorted(p.name for p in (root / "train" / wnid).iterdir())
        assert len(train) == 40
        assert all(re.fullmatch(rf"{wnid}_\d+\.JPEG", name) for name in train)
        val = sorted(p.name for p in (root / "val" / wnid).iterdir())
        assert len(val) == 10
        assert all(re.fullmatch(r"ILSVRC2012_val_\d{8}\.JPEG", name) for name in val)
        val_numbers += [int(name[15:23]) for name in val]
    assert sorted(val_numbers) == list(range(1, 141))
    assert summary["train_images"] == 560 and summary["val_images"] == 140
    assert WNID_NAMES["n04435653"] == "tile roof"
    # No temporary sibling left behind by the atomic rename.
    assert [p.name for p in root.parent.iterdir()] == ["imagenet"]


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    options = dict(train_per_class=5, val_per_class=2, distractor_classes=1)
    a = generate_demo_tree(tmp_path / "a", seed=3, **options)
    b = generate_demo_tree(tmp_path / "b", seed=3, **options)
    c = generate_demo_tree(tmp_path / "c", seed=4, **options)
    files_a, files_b, files_c = (_files(tmp_path / n) for n in "abc")
    assert [p.relative_to(tmp_path / "a") for p in files_a] == [p.relative_to(tmp_path / "b") for p in files_b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(files_a, files_b))
    assert a["traps"] == b["traps"]
    same = sum(x.read_bytes() == y.read_bytes() for x, y in zip(files_a, files_c))
    assert same == 0 and c["total_bytes"] != a["total_bytes"]


def test_traps_are_in_thesis_train_classes_and_behave_like_imagenets(demo):
    root, summary = demo
    traps = summary["traps"]
    assert set(traps) == {"cmyk", "grayscale", "png", "truncated"}
    for path in traps.values():
        assert path.startswith("train/") and path.endswith(".JPEG")
        assert path.split("/")[1] in THESIS_WNIDS
    with Image.open(root / traps["cmyk"]) as image:
        assert (image.format, image.mode) == ("JPEG", "CMYK")
    with Image.open(root / traps["grayscale"]) as image:
        assert (image.format, image.mode) == ("JPEG", "L")
    with Image.open(root / traps["png"]) as image:
        assert image.format == "PNG"
    with pytest.raises(OSError, match="truncated"):
        with Image.open(root / traps["truncated"]) as image:
            image.load()


def test_file_sizes_are_right_skewed_and_small(demo):
    root, _ = demo
    sizes = np.array([p.stat().st_size for p in _files(root)], dtype=float)
    assert sizes.mean() > np.median(sizes)
    assert scipy.stats.skew(sizes) > 1.0
    # Roughly log-normal: far less skewed on the log scale than on the linear one.
    assert abs(scipy.stats.skew(np.log(sizes))) < scipy.stats.skew(sizes) / 2
    assert sizes.sum() < 15e6


def _thumbnails(root, split, wnids):
    x, y = [], []
    for label, wnid in enumerate(wnids):
        for path in sorted((root / split / wnid).iterdir()):
            try:
                with Image.open(path) as image:
                    image = image.convert("RGB")
            except OSError:
                continue  # the truncated trap
            side = min(image.size)
            left, top = (image.width - side) // 2, (image.height - side) // 2
            thumb = image.crop((left, top, left + side, top + side)).resize((16, 16))
            x.append(np.asarray(thumb, dtype=np.float32).ravel())
            y.append(label)
    return np.array(x), np.array(y)


def test_nearest_class_mean_beats_chance_widely(demo):
    # A cheap, honest proxy for "a small CNN learns this": even a nearest-class-mean rule on
    # raw 16x16 thumbnails must do far better than chance (1/14).
    root, summary = demo
    wnids = summary["classes"]
    x_train, y_train = _thumbnails(root, "train", wnids)
    x_val, y_val = _thumbnails(root, "val", wnids)
    means = np.stack([x_train[y_train == c].mean(axis=0) for c in range(len(wnids))])
    predicted = ((x_val[:, None, :] - means[None]) ** 2).sum(axis=2).argmin(axis=1)
    accuracy = (predicted == y_val).mean()
    assert accuracy > 5 / len(wnids), accuracy


def test_existing_tree_is_not_overwritten(tmp_path):
    root = tmp_path / "tree"
    root.mkdir()
    (root / "keep.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="tree"):
        generate_demo_tree(root, train_per_class=4, val_per_class=1, distractor_classes=0)
    assert (root / "keep.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tree"]


def test_bad_options_are_refused(tmp_path):
    with pytest.raises(ValueError, match="distractor_classes"):
        generate_demo_tree(tmp_path / "x", distractor_classes=99)
    with pytest.raises(ValueError, match="traps"):
        generate_demo_tree(tmp_path / "y", train_per_class=2)


def _overlay(name):
    return yaml.safe_load((REPO / "config" / name).read_text())


@pytest.fixture(scope="module")
def demo_subset(tmp_path_factory):
    """The workflow's demo dataset as config/demo.yaml asks for it: tree, subset, 32 px arrays."""
    dataset = _overlay("demo.yaml")["dataset"]
    base = tmp_path_factory.mktemp("demo_config")
    generate_demo_tree(base / "imagenet", **dataset["demo"])
    manifest, report = select_subset(base / "imagenet", scan_tree(base / "imagenet"), **dataset["subset"])
    manifest.to_csv(base / "manifest.csv", index=False)
    prepare(base / "imagenet", base / "manifest.csv", 32, base / "32")
    return dataset["subset"], manifest, report, base / "32"


def test_demo_config_gets_every_image_it_asks_for(demo_subset):
    # The subset draws only inside its size zones: the generated tree must hold enough files
    # there for each class, or the demo would silently train on fewer images than it says.
    subset, manifest, report, _ = demo_subset
    assert report["short_classes_count"] == 0
    counts = manifest.groupby(["split", "wnid"]).size()
    assert set(counts["train"]) == {subset["train_per_class"]} and len(counts["train"]) == 10
    assert set(counts["val"]) == {subset["val_per_class"]} and len(counts["val"]) == 10


def test_demo_inputs_carry_the_class_at_the_demo_size(demo_subset):
    # What the demo's models see (the prepared 32 px arrays, truncated trap skipped) must be
    # learnable: a nearest-class-mean rule fitted on the training images alone scores the
    # validation images far above chance (0.1) and far above the demo's target (0.2).
    _, _, _, prepared = demo_subset
    x_train = np.load(prepared / "train_x.npy").reshape(-1, 32 * 32 * 3).astype(np.float32)
    y_train = np.load(prepared / "train_y.npy")
    x_val = np.load(prepared / "val_x.npy").reshape(-1, 32 * 32 * 3).astype(np.float32)
    y_val = np.load(prepared / "val_y.npy")
    means = np.stack([x_train[y_train == c].mean(axis=0) for c in range(10)])
    predicted = ((x_val[:, None, :] - means[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert (predicted == y_val).mean() > 0.5


def test_demo_full_trains_every_model_over_the_demo():
    demo, full = _overlay("demo.yaml"), _overlay("demo-full.yaml")
    assert list(full) == ["models"]  # everything else is the demo's: the same runs are reused
    assert full["models"] == list(MODEL_NAMES)
    assert set(demo["models"]) < set(MODEL_NAMES)
    # demo-full must find an input size every model accepts.
    for model in MODEL_NAMES:
        size = demo["input_size"].get(model, demo["input_size"]["default"])
        assert size >= min_input_size(model), model
