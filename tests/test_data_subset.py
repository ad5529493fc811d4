"""Subset selection: the zone/balance invariants, class choice, short classes, outputs."""

import json

import numpy as np
import pandas as pd
import pytest

from edgebench.data.demo import DISTRACTOR_WNIDS, THESIS_WNIDS
from edgebench.data.scan import scan_tree
from edgebench.data.subset import select_subset, write_subset, zone_draw
from edgebench.data.zones import ZONE_LABELS, zone_index

WNIDS = THESIS_WNIDS + DISTRACTOR_WNIDS[:4]
SHORT = DISTRACTOR_WNIDS[3]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """14 classes of files with log-normal sizes (content irrelevant to the subset); one class small."""
    rng = np.random.default_rng(11)
    root = tmp_path_factory.mktemp("subset") / "imagenet"
    for wnid in WNIDS:
        n_train = 12 if wnid == SHORT else 150
        for split, count, name in (("train", n_train, lambda n: f"{wnid}_{n}.JPEG"),
                                   ("val", 20, lambda n: f"ILSVRC2012_val_{WNIDS.index(wnid) * 100 + n:08d}.JPEG")):
            folder = root / split / wnid
            folder.mkdir(parents=True)
            for n, size in enumerate(np.rint(np.exp(rng.normal(8.5, 0.8, size=count))).astype(int) + 1):
                (folder / name(n)).write_bytes(b"\0" * int(size))
    return root, scan_tree(root)


def _band(stats, split):
    mean, std = stats[split]["overall"]["mean"], stats[split]["overall"]["std"]
    return mean, std


def test_invariants_thesis_preset(tree):
    root, stats = tree
    manifest, report = select_subset(root, stats, classes="thesis10", train_per_class=60, val_per_class=8, seed=5)
    assert list(manifest.columns) == ["split", "wnid", "label", "path", "bytes"]
    assert report["classes"] == sorted(THESIS_WNIDS)
    assert not manifest["path"].duplicated().any()
    counts = manifest.groupby(["split", "wnid"]).size()
    assert (counts["train"] == 60).all() and (counts["val"] == 8).all() and len(counts) == 20
    assert (manifest["label"] == manifest["wnid"].map(sorted(THESIS_WNIDS).index)).all()
    for row in manifest.sample(30, random_state=0).itertuples():
        assert (root / row.path).stat().st_size == row.bytes
        assert row.path.startswith(f"{row.split}/{row.wnid}/")
    for split in ("train", "val"):
        mean, std = _band(stats, split)
        sizes = manifest.loc[manifest["split"] == split, "bytes"]
        assert ((sizes >= mean - 2 * std) & (sizes < mean + 2 * std)).all()
    assert report["short_classes_count"] == 0


def test_subset_mean_tracks_population_mean(tree):
    root, stats = tree
    mean, std = _band(stats, "train")
    manifest, report = select_subset(root, stats, classes="thesis10", train_per_class=60, val_per_class=0, seed=1)
    subset_mean = manifest["bytes"].mean()
    assert abs(subset_mean - mean) < 0.05 * std
    # The balance does real work: a plain draw from the eligible band would sit well below X,
    # because the band cuts off the long right tail.
    first, _ = select_subset(root, stats, classes="thesis10", train_per_class=60, val_per_class=0, method="first")
    assert abs(subset_mean - mean) < abs(first["bytes"].mean() - mean)
    assert report["splits"]["train"]["subset"]["mean"] == pytest.approx(subset_mean)
    assert report["splits"]["train"]["subset"]["mean_minus_population_mean"] == pytest.approx(subset_mean - mean)


def test_deterministic_for_a_seed_and_seed_matters(tree):
    root, stats = tree
    options = dict(classes=6, train_per_class=40, val_per_class=5)
    a, report_a = select_subset(root, stats, seed=3, **options)
    b, report_b = select_subset(root, stats, seed=3, **options)
    c, report_c = select_subset(root, stats, seed=4, **options)
    pd.testing.assert_frame_equal(a, b)
    assert report_a == report_b
    assert len(report_a["classes"]) == 6 and set(report_a["classes"]) <= set(WNIDS)
    assert report_a["classes"] != report_c["classes"] or not a.equals(c)


def test_short_class_takes_all_eligible_and_is_reported(tree):
    root, stats = tree
    manifest, report = select_subset(root, stats, classes=[SHORT, WNIDS[0]], train_per_class=30,
                                     val_per_class=0, seed=0)
    mean, std = _band(stats, "train")
    files = sorted((root / "train" / SHORT).iterdir())
    sizes = np.array([p.stat().st_size for p in files])
    eligible = int(((sizes >= mean - 2 * std) & (sizes < mean + 2 * std)).sum())
    short = report["splits"]["train"]["short_classes"]
    assert list(short) == [SHORT]
    assert short[SHORT] == {"asked": 30, "eligible": eligible, "files": 12, "taken": eligible}
    assert (manifest["wnid"] == SHORT).sum() == eligible
    assert (manifest["wnid"] == WNIDS[0]).sum() == 30


def test_report_compares_with_population(tree):
    root, stats = tree
    _, report = select_subset(root, stats, classes="thesis10", train_per_class=50, val_per_class=5, seed=2)
    train = report["splits"]["train"]
    assert train["population"]["count"] == stats["train"]["overall"]["count"]
    assert train["population"]["zones"] == stats["train"]["overall"]["zones"]
    assert sum(train["subset"]["zones"].values()) == 500
    assert train["subset"]["zones"]["below"] == 0 and train["subset"]["zones"]["above"] == 0
    for key in ("ks_vs_candidates", "ks_vs_eligible_candidates"):
        assert 0 <= train[key]["statistic"] <= 1 and 0 <= train[key]["pvalue"] <= 1


def test_rounds_share_a_zone_and_balance_steers_the_side():
    # The thesis's rule, checked on plentiful pools: in each round every class draws from the
    # zone of the round's first draw, and the round's side is opposite to the running balance.
    rng = np.random.default_rng(0)
    class_sizes = [np.rint(np.exp(rng.normal(8, 0.6, size=400))).astype(int) for _ in range(4)]
    everything = np.concatenate(class_sizes)
    mean, std = everything.mean(), everything.std()
    chosen = zone_draw(class_sizes, 40, mean, std, np.random.default_rng(1))
    zones = np.array([zone_index(s[c], mean, std) for s, c in zip(class_sizes, chosen)])  # class x round
    deviations = np.array([s[c] - mean for s, c in zip(class_sizes, chosen)])
    assert zones.shape == (4, 40)
    assert (zones == zones[0]).all()
    balance = np.concatenate([[0.0], np.cumsum(deviations.sum(axis=0))[:-1]])
    below = np.isin(zones[0], [ZONE_LABELS.index("D"), ZONE_LABELS.index("C")])
    assert (below[balance > 0]).all() and (~below[balance < 0]).all()
    assert all(len(set(c)) == 40 for c in chosen)


def test_bad_class_requests_are_clear_errors(tree):
    root, stats = tree
    with pytest.raises(ValueError, match="n09999999"):
        select_subset(root, stats, classes=["n09999999"], train_per_class=5, val_per_class=0)
    with pytest.raises(ValueError, match="preset"):
        select_subset(root, stats, classes="thesis11", train_per_class=5, val_per_class=0)
    with pytest.raises(ValueError, match="between 1 and 14"):
        select_subset(root, stats, classes=15, train_per_class=5, val_per_class=0)
    with pytest.raises(ValueError, match="duplicate"):
        select_subset(root, stats, classes=[WNIDS[0], WNIDS[0]], train_per_class=5, val_per_class=0)


def test_write_subset_files(tree, tmp_path):
    root, stats = tree
    (tmp_path / "stats.json").write_text(json.dumps(stats))
    report = write_subset(root, tmp_path / "stats.json", tmp_path / "manifest.csv", tmp_path / "report.json",
                          classes="thesis10", train_per_class=10, val_per_class=2, seed=0)
    manifest = pd.read_csv(tmp_path / "manifest.csv")
    assert list(manifest.columns) == ["split", "wnid", "label", "path", "bytes"]
    assert len(manifest) == 120
    assert json.loads((tmp_path / "report.json").read_text()) == json.loads(json.dumps(report))


def test_flat_val_layout_is_selected_by_its_labels(tmp_path):
    root = tmp_path / "imagenet"
    rng = np.random.default_rng(2)
    lines = ["ImageId,PredictionString"]
    number = 0
    for wnid in WNIDS[:3]:
        (root / "train" / wnid).mkdir(parents=True)
        for n, size in enumerate(rng.integers(500, 1500, size=20)):
            (root / "train" / wnid / f"{wnid}_{n}.JPEG").write_bytes(b"\0" * int(size))
        for size in rng.integers(500, 1500, size=6):
            number += 1
            (root / "val").mkdir(exist_ok=True)
            (root / "val" / f"ILSVRC2012_val_{number:08d}.JPEG").write_bytes(b"\0" * int(size))
            lines.append(f"ILSVRC2012_val_{number:08d},{wnid} 0 0 10 10")
    (root / "LOC_val_solution.csv").write_text("\n".join(lines) + "\n")
    manifest, report = select_subset(root, scan_tree(root), classes=WNIDS[:2], train_per_class=5,
                                     val_per_class=3, seed=0)
    val = manifest[manifest["split"] == "val"]
    assert len(val) == 6 and set(val["wnid"]) == set(WNIDS[:2])
    labels = dict(line.split(",")[0:2] for line in lines[1:])
    for row in val.itertuples():
        assert row.path.startswith("val/ILSVRC2012_val_")
        assert labels[row.path[4:-5]].split()[0] == row.wnid


def test_recommended_demo_subset_carries_every_trap(tmp_path):
    # The workflow's demo (default demo tree, thesis10, 32 train / 8 val per class, seed 0)
    # must run prepare's handling of each ImageNet trap end to end.
    from edgebench.data.demo import generate_demo_tree

    summary = generate_demo_tree(tmp_path / "demo", seed=0)
    manifest, report = select_subset(tmp_path / "demo", scan_tree(tmp_path / "demo"), classes="thesis10",
                                     train_per_class=32, val_per_class=8, seed=0)
    assert set(summary["traps"].values()) <= set(manifest["path"])
    assert report["short_classes_count"] == 0 and len(manifest) == 400
