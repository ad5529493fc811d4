"""A run that cannot fit its checkpoints is refused before training, naming the directory, the
space needed and the space free: on a real 8 MiB tmpfs (root; skipped elsewhere, with the reason)."""

import json
import subprocess

import pytest

from edgebench.interpreters import board_environment
from edgebench.train.disk import RUN_FILES_BYTES, checkpoint_bytes
from edgebench.train.spec import write_spec
from tests.conftest import board_python, prepare_tiny_demo, run_document


def test_room_needed_counts_two_checkpoints_while_one_replaces_the_other():
    one = checkpoint_bytes(100 * 2**20)
    assert one > 200 * 2**20  # weights and momentum
    assert RUN_FILES_BYTES < one


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_run_that_cannot_fit_its_checkpoints_is_refused_before_training(tmp_path, small_disk):
    prepared = prepare_tiny_demo(tmp_path, seed=6, size=64)
    work = small_disk / "run"  # state and outputs on the 8 MiB disk; AlexNet's checkpoint is far larger
    spec = write_spec(run_document("pytorch", "alexnet", prepared, work, epochs=2, size=64), tmp_path / "spec.json")
    result = subprocess.run([board_python("pytorch"), "-m", "edgebench.train.main", str(spec)], capture_output=True,
                            text=True, env=board_environment(), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((work / "run.json").read_text())
    assert summary["status"] == "refused" and summary["epochs_done"] == 0
    assert summary["reason"].startswith(f"{work / 'state'}: needs ") and "MiB free" in summary["reason"]
