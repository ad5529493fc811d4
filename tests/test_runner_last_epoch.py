"""The last epoch's checkpoint holds no weights: a cut before publishing still loses nothing.

A real runner in real child processes (it pins the process, so never in the test process): the
first child dies hard (os._exit, as a power cut would) right after the last epoch's checkpoint,
before publishing; the second child, the same run, publishes without training again.
"""

import json
import subprocess
import textwrap

import pandas as pd
import pytest

from edgebench.train.checkpoint import load_checkpoint
from tests.conftest import REPO, board_python, prepare_tiny_demo

DRIVER = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from edgebench import logs
    from edgebench.hwconfig import load_board, resolve
    from edgebench.train import runner, spec as run_spec, summary

    prepared, work = Path(sys.argv[1]), Path(sys.argv[2])
    epochs, cut = int(sys.argv[3]), sys.argv[4] == "cut"
    logs.setup(str(work / f"train-{epochs}-{sys.argv[4]}.log"))
    if cut:
        summary.publish = lambda spec, state: os._exit(137)  # dies where a power cut could strike
    board = load_board("demo")
    spec = run_spec.RunSpec(
        framework="pytorch", model="lenet", hwconfig=resolve("cpu_cfg1", {"cores": ["core0"]}, board), rep=0,
        prepared_dir=prepared, input_size=32,
        training={"epochs": epochs, "batch_size": 4, "optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9,
                  "weight_decay": 5e-4, "seed": 0, "augment": False},
        outputs={key: str(work / "run" / name) for key, name in run_spec.OUTPUT_FILES.items()},
        state_dir=work / "state", board=board, lock_dir=work)
    runner.run(spec)
""")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepare_tiny_demo(tmp_path_factory.mktemp("last_epoch"), seed=3)


def run_child(prepared, work, epochs, mode):
    """Run (mode "resume") or cut (mode "cut") one LeNet run in work/ on the prepared data."""
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    return subprocess.run([board_python("pytorch"), "-c", DRIVER, str(prepared), str(work), str(epochs), mode], env=env,
                          capture_output=True, text=True, timeout=600)


def test_cut_after_the_last_epoch_publishes_without_training_again(prepared, tmp_path):
    cut = run_child(prepared, tmp_path, 2, "cut")
    assert cut.returncode == 137, cut.stderr[-3000:]
    checkpoint = load_checkpoint(tmp_path / "state")
    assert [row["epoch"] for row in checkpoint["epochs"]] == [0, 1]
    assert checkpoint["backend_state"] is None and checkpoint["weights_sha256"] is None
    assert not (tmp_path / "run").exists()

    resumed = run_child(prepared, tmp_path, 2, "resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = (tmp_path / "train-2-resume.log").read_text()
    assert "resuming at epoch 2" in log and "train batch" not in log  # nothing trained twice
    summary = json.loads((tmp_path / "run" / "run.json").read_text())
    assert summary["status"] == "done" and [a["resumed_at_epoch"] for a in summary["attempts"]] == [0, 2]
    epochs = pd.read_csv(tmp_path / "run" / "epochs.csv")
    assert epochs["train_loss"].tolist() == [row["train_loss"] for row in checkpoint["epochs"]]
    assert not (tmp_path / "state").exists()  # published, so the state directory is cleaned


def test_raising_the_epochs_over_a_weightless_checkpoint_starts_over(prepared, tmp_path):
    # A 1-epoch run cut before publishing, then asked for 2 epochs.
    assert run_child(prepared, tmp_path, 1, "cut").returncode == 137
    assert load_checkpoint(tmp_path / "state")["backend_state"] is None
    resumed = run_child(prepared, tmp_path, 2, "resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = (tmp_path / "train-2-resume.log").read_text()
    assert "holds no weights to continue past epoch 0; starting over" in log
    summary = json.loads((tmp_path / "run" / "run.json").read_text())
    assert summary["epochs_done"] == 2 and summary["attempts"][-1]["resumed_at_epoch"] == 0
