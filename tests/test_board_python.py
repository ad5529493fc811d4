"""The board side runs on Python 3.8 to 3.13: a static check of every module it loads, and a real
run on Python 3.8 (JetPack 5's) where this machine has one."""

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from edgebench.interpreters import BOARD_SIDE_SOURCES, board_environment
from edgebench.train.spec import write_spec
from tests.conftest import REPO, prepare_tiny_demo, run_document

VERMIN = Path(sys.executable).with_name("vermin")
PY38 = REPO / ".venv-py38" / "bin" / "python"  # made by `make setup-py38` where a Python 3.8 exists


def board_files() -> list:
    paths = [REPO / source for source in BOARD_SIDE_SOURCES]
    return sorted(f for p in paths for f in ([p] if p.is_file() else p.rglob("*.py")))


def vermin(*paths) -> subprocess.CompletedProcess:
    return subprocess.run([str(VERMIN), "--target=3.8-", "--violations", "--no-tips", *map(str, paths)],
                          capture_output=True, text=True)


def test_board_side_modules_need_at_most_python_3_8():
    result = vermin(*board_files())
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_board_module_leaves_its_annotations_unevaluated():
    # `list[int]` or `X | None` in a signature is evaluated at import on 3.8 unless annotations are
    # deferred; vermin, which reads annotations as unevaluated, relies on this.
    lacking = []
    for path in board_files():
        tree = ast.parse(path.read_text())
        deferred = any(isinstance(node, ast.ImportFrom) and node.module == "__future__"
                       and any(alias.name == "annotations" for alias in node.names) for node in tree.body)
        if tree.body and not deferred:
            lacking.append(str(path.relative_to(REPO)))
    assert lacking == []


def test_the_check_catches_newer_python(tmp_path):
    newer = tmp_path / "newer.py"
    newer.write_text("import functools\n\n\n@functools.cache\ndef f(n):\n    return n\n")  # functools.cache: 3.9
    result = vermin(newer)
    assert result.returncode != 0 and "3.9" in result.stdout


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    base = tmp_path_factory.mktemp("py38")
    prepare_tiny_demo(base, seed=4)
    return base


@pytest.mark.skipif(not PY38.exists(), reason="no Python 3.8 here (make setup-py38 found none)")
def test_mxnet_trains_on_python_3_8_through_the_board_entry_point(prepared):
    work = prepared / "run"
    document = run_document("mxnet", "lenet", prepared / "prepared", work, epochs=2)
    spec = write_spec(document, prepared / "spec.json")
    result = subprocess.run([str(PY38), "-m", "edgebench.train.main", str(spec)], capture_output=True, text=True,
                            env=board_environment(), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((work / "run.json").read_text())
    assert summary["status"] == "done" and summary["provenance"]["python"].startswith("3.8.")
    assert summary["provenance"]["numpy"].startswith("1.24") and summary["provenance"]["mxnet"] == "1.9.1"
    epochs = pd.read_csv(work / "epochs.csv")
    assert list(epochs["epoch"]) == [0, 1] and epochs["train_loss"].notna().all()
    assert not (work / "state").exists()  # published, state dropped
    shutil.rmtree(work)
