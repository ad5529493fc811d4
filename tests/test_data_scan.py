"""Scan: size statistics vs numpy on the same files, val layouts, bad roots."""

import json

import numpy as np
import pytest
import scipy.io

from edgebench.data.scan import find_val_labels, list_split, scan_tree, write_stats

WNIDS = ["n01440764", "n01443537", "n02037110", "n02051845"]


def _write(path, size):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff" * int(size))


@pytest.fixture
def tree(tmp_path):
    """A train tree of files with log-normal sizes; returns (root, {wnid: sizes})."""
    rng = np.random.default_rng(0)
    root = tmp_path / "imagenet"
    sizes = {}
    for k, wnid in enumerate(WNIDS):
        sizes[wnid] = np.rint(np.exp(rng.normal(8, 0.7, size=20 + 5 * k))).astype(int) + 1
        for n, size in enumerate(sizes[wnid]):
            _write(root / "train" / wnid / f"{wnid}_{n}.JPEG", size)
    # Not images: a hidden file and a text file are left out (the latter counted).
    _write(root / "train" / WNIDS[0] / ".DS_Store", 10)
    _write(root / "train" / WNIDS[0] / "notes.txt", 10)
    return root, sizes


def _check_summary(summary, sizes):
    sizes = np.asarray(sizes)
    assert summary["count"] == sizes.size
    assert summary["total_bytes"] == sizes.sum()
    assert summary["mean"] == pytest.approx(sizes.mean())
    assert summary["std"] == pytest.approx(sizes.std())
    q = np.percentile(sizes, [0, 25, 50, 75, 100])
    assert [summary[k] for k in ("min", "q1", "median", "q3", "max")] == pytest.approx(q.tolist())


def test_train_stats_match_numpy_overall_and_per_class(tree, tmp_path):
    root, sizes = tree
    stats = write_stats(root, tmp_path / "out" / "stats.json", workers=3)
    assert json.loads((tmp_path / "out" / "stats.json").read_text()) == stats
    train = stats["train"]
    assert train["layout"] == "per-class" and train["classes_count"] == 4
    assert train["ignored_files"] == 1
    _check_summary(train["overall"], np.concatenate(list(sizes.values())))
    for wnid in WNIDS:
        _check_summary(train["classes"][wnid], sizes[wnid])
    zones = train["overall"]["zones"]
    assert sum(zones.values()) == train["overall"]["count"]
    assert "val" not in stats


def test_val_per_class_layout(tree):
    root, _ = tree
    for n, size in enumerate([100, 300, 500]):
        _write(root / "val" / WNIDS[1] / f"ILSVRC2012_val_{n + 1:08d}.JPEG", size)
    val = scan_tree(root)["val"]
    assert val["layout"] == "per-class"
    _check_summary(val["overall"], [100, 300, 500])
    assert list(val["classes"]) == [WNIDS[1]]


def _flat_val(root, labels):
    sizes = {}
    for n, wnid in enumerate(labels, start=1):
        sizes[f"ILSVRC2012_val_{n:08d}"] = 1000 + 37 * n
        _write(root / "val" / f"ILSVRC2012_val_{n:08d}.JPEG", sizes[f"ILSVRC2012_val_{n:08d}"])
    return sizes


def test_val_flat_layout_with_kaggle_loc_val_solution(tmp_path):
    # Kaggle's archive: LOC_val_solution.csv three levels above ILSVRC/Data/CLS-LOC.
    root = tmp_path / "ILSVRC" / "Data" / "CLS-LOC"
    _write(root / "train" / WNIDS[0] / f"{WNIDS[0]}_1.JPEG", 50)
    labels = [WNIDS[0], WNIDS[1], WNIDS[0], WNIDS[2], WNIDS[0]]
    sizes = _flat_val(root, labels)
    _write(root / "val" / "ILSVRC2012_val_00000099.JPEG", 10)  # not in the labels file
    lines = ["ImageId,PredictionString"]
    lines += [f"ILSVRC2012_val_{n:08d},{w} 1 2 30 40 {w} 5 6 70 80" for n, w in enumerate(labels, start=1)]
    (tmp_path / "LOC_val_solution.csv").write_text("\n".join(lines) + "\n")

    assert find_val_labels(root) == tmp_path / "LOC_val_solution.csv"
    val = scan_tree(root)["val"]
    assert val["layout"] == "flat" and val["unlabelled"] == 1
    assert val["unlabelled_examples"] == ["ILSVRC2012_val_00000099.JPEG"]
    _check_summary(val["overall"], list(sizes.values()))
    _check_summary(val["classes"][WNIDS[0]], [sizes[f"ILSVRC2012_val_{n:08d}"] for n in (1, 3, 5)])
    files, _ = list_split(root, "val", classes=[WNIDS[2]])
    assert files[WNIDS[2]][0] == ["val/ILSVRC2012_val_00000004.JPEG"]


def test_val_flat_layout_with_devkit_ground_truth(tmp_path):
    root = tmp_path / "imagenet"
    _write(root / "train" / WNIDS[0] / f"{WNIDS[0]}_1.JPEG", 50)
    labels = [WNIDS[3], WNIDS[1], WNIDS[3]]
    sizes = _flat_val(root, labels)
    data = root / "ILSVRC2012_devkit_t12" / "data"
    data.mkdir(parents=True)
    # meta.mat as the devkit has it: a struct array of synsets; IDs are not in wnid order.
    synsets = np.zeros(4, dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O"), ("words", "O")])
    for i, wnid in enumerate(reversed(WNIDS)):
        synsets[i] = (i + 1, wnid, "x")
    scipy.io.savemat(data / "meta.mat", {"synsets": synsets})
    id_of = {w: i + 1 for i, w in enumerate(reversed(WNIDS))}
    (data / "ILSVRC2012_validation_ground_truth.txt").write_text("".join(f"{id_of[w]}\n" for w in labels))

    val = scan_tree(root)["val"]
    assert val["layout"] == "flat" and val["unlabelled"] == 0
    assert sorted(val["classes"]) == sorted({WNIDS[1], WNIDS[3]})
    _check_summary(val["classes"][WNIDS[3]], [sizes["ILSVRC2012_val_00000001"], sizes["ILSVRC2012_val_00000003"]])


def test_flat_val_without_labels_and_bad_labels_file(tmp_path):
    root = tmp_path / "a" / "b" / "c" / "d" / "imagenet"
    _write(root / "train" / WNIDS[0] / f"{WNIDS[0]}_1.JPEG", 50)
    _flat_val(root, [WNIDS[0]])
    with pytest.raises(FileNotFoundError, match="LOC_val_solution.csv"):
        scan_tree(root)
    (root / "LOC_val_solution.csv").write_text("id,label\nILSVRC2012_val_00000001,n0\n")
    with pytest.raises(ValueError, match="ImageId,PredictionString"):
        scan_tree(root)


def test_missing_and_empty_roots_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        scan_tree(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="train"):
        scan_tree(tmp_path / "empty")
    (tmp_path / "empty" / "train" / WNIDS[0]).mkdir(parents=True)
    with pytest.raises(ValueError, match="no image files"):
        scan_tree(tmp_path / "empty")
