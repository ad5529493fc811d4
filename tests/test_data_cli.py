"""`edgebench dataset ...`: the dataset stages through the real entry point, chained as the rules chain them."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from edgebench.cli import main
from edgebench.data import demo, subset
from edgebench.schema import section_defaults

REPO = Path(__file__).resolve().parents[1]


def dataset(*args) -> int:
    """Run `edgebench dataset ARGS` in this process (the same dispatch as the installed command)."""
    return main(["dataset", *map(str, args)])


def test_stage_chain_through_the_dataset_command(tmp_path, capsys):
    root, out = tmp_path / "imagenet", tmp_path / "results"
    assert dataset("demo", root, "--seed", "1", "--train-per-class", "8", "--val-per-class", "3",
                   "--distractor-classes", "2") == 0
    assert dataset("scan", root, out / "stats.json") == 0
    assert json.loads((out / "stats.json").read_text())["train"]["overall"]["count"] == 96
    assert dataset("subset", root, out / "stats.json", out / "manifest.csv", out / "report.json",
                   "--classes", "3", "--train-per-class", "5", "--val-per-class", "2", "--seed", "7") == 0
    manifest = pd.read_csv(out / "manifest.csv")
    assert manifest["wnid"].nunique() == 3
    assert dataset("prepare", root, out / "manifest.csv", "20", out / "20") == 0
    x = np.load(out / "20" / "train_x.npy")
    assert x.shape[1:] == (20, 20, 3) and len(x) <= 15
    assert dataset("jpeg-subset", root, out / "manifest.csv", out / "jpeg",
                   "--prepare-report", out / "20" / "report.json") == 0
    assert json.loads((out / "jpeg" / "classes.json").read_text()) == sorted(manifest["wnid"].unique())
    assert "prepare train:" in capsys.readouterr().err


def test_cli_errors_exit_2_with_the_path(tmp_path, capsys):
    # A real process, as a user runs it: the exit code and the message reach the shell.
    scan = subprocess.run([sys.executable, "-m", "edgebench", "dataset", "scan", str(tmp_path / "missing"),
                           str(tmp_path / "stats.json")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert scan.returncode == 2
    assert "missing" in scan.stderr and scan.stderr.startswith("edgebench dataset scan: ")
    assert dataset("demo", tmp_path / "d", "--distractor-classes", "50") == 2
    assert "distractor_classes" in capsys.readouterr().err
    assert not (tmp_path / "stats.json").exists()


def test_options_left_out_take_the_config_schemas_defaults(tmp_path, monkeypatch):
    # The schema is the one place a dataset default is written; the commands must not keep their own.
    calls = {}

    def fake_generate_demo_tree(root, **options):
        calls["demo"] = options
        return {"root": str(root), "train_images": 0, "val_images": 0, "total_bytes": 0, "traps": {}}

    def fake_write_subset(root, stats, manifest, report, **options):
        calls["subset"] = options
        return {"splits": {}}

    monkeypatch.setattr(demo, "generate_demo_tree", fake_generate_demo_tree)
    monkeypatch.setattr(subset, "write_subset", fake_write_subset)
    assert dataset("demo", tmp_path / "d") == 0
    assert dataset("subset", tmp_path, "stats.json", "manifest.csv", "report.json") == 0
    defaults = section_defaults("dataset")
    assert calls["demo"] == {**defaults["demo"], "traps": True, "overwrite": False}
    assert calls["subset"] == {**defaults["subset"], "method": "zones"}
