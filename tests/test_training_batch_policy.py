"""One policy for a last training batch too small for BatchNorm: dropped in both frameworks, so
both train on the same samples and neither fails where the other goes on."""

import json
import subprocess

import pytest

from edgebench.data.loader import drop_last_training_batch, samples_per_pass
from edgebench.interpreters import board_environment
from edgebench.train.spec import write_spec
from tests.conftest import board_python, prepare_tiny_demo, run_document


def test_only_a_one_sample_last_batch_is_dropped_and_only_in_training():
    assert drop_last_training_batch(21, 4) and samples_per_pass(21, 4, train=True) == 20
    assert samples_per_pass(21, 4, train=False) == 21  # validation scores every sample
    assert not drop_last_training_batch(22, 4) and samples_per_pass(22, 4, train=True) == 22
    assert not drop_last_training_batch(20, 4)
    assert not drop_last_training_batch(1, 4)  # dropping it would leave nothing to train on


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepare_tiny_demo(tmp_path_factory.mktemp("last_batch"), seed=5)  # 20 training images


@pytest.mark.parametrize("framework, model", [("pytorch", "lenet"), ("mxnet", "lenet"), ("pytorch", "densenet121")])
def test_both_frameworks_train_on_the_same_samples(prepared, framework, model):
    # Batch 19 of 20 images: without the policy the second batch holds one sample, on which
    # PyTorch's BatchNorm (DenseNet-121) raises in training mode.
    work = prepared.parent / f"{framework}-{model}"
    spec = write_spec(run_document(framework, model, prepared, work, batch_size=19), work.parent / f"{work.name}.json")
    result = subprocess.run([board_python(framework), "-m", "edgebench.train.main", str(spec)], capture_output=True,
                            text=True, env=board_environment(), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((work / "run.json").read_text())
    assert summary["status"] == "done", summary["reason"]
    assert summary["samples_per_epoch"] == {"train": 19, "train_available": 20, "val": 10}
