"""The dataset stage's command-line entry points, chained as the workflow's rules chain them."""

import json

import numpy as np
import pandas as pd

from edgebench.data import demo, native, prepare, scan, subset


def test_stage_chain_through_cli_functions(tmp_path, capsys):
    root, out = tmp_path / "imagenet", tmp_path / "results"
    assert demo.cli([str(root), "--seed", "1", "--train-per-class", "8", "--val-per-class", "3",
                     "--distractor-classes", "2"]) == 0
    assert scan.cli([str(root), str(out / "stats.json")]) == 0
    assert json.loads((out / "stats.json").read_text())["train"]["overall"]["count"] == 96
    assert subset.cli([str(root), str(out / "stats.json"), str(out / "manifest.csv"), str(out / "report.json"),
                       "--classes", "3", "--train-per-class", "5", "--val-per-class", "2", "--seed", "7"]) == 0
    manifest = pd.read_csv(out / "manifest.csv")
    assert manifest["wnid"].nunique() == 3
    assert prepare.cli([str(root), str(out / "manifest.csv"), "20", str(out / "20")]) == 0
    x = np.load(out / "20" / "train_x.npy")
    assert x.shape[1:] == (20, 20, 3) and len(x) <= 15
    assert native.cli([str(root), str(out / "manifest.csv"), str(out / "jpeg"),
                       "--prepare-report", str(out / "20" / "report.json")]) == 0
    assert json.loads((out / "jpeg" / "classes.json").read_text()) == sorted(manifest["wnid"].unique())
    assert "prepare train:" in capsys.readouterr().err


def test_cli_errors_exit_2_with_the_path(tmp_path, capsys):
    assert scan.cli([str(tmp_path / "missing"), str(tmp_path / "stats.json")]) == 2
    assert "missing" in capsys.readouterr().err
    assert demo.cli([str(tmp_path / "d"), "--distractor-classes", "50"]) == 2
    assert "distractor_classes" in capsys.readouterr().err
    assert not (tmp_path / "stats.json").exists()
