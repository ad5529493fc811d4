"""Checkpoints: atomic replacement, faithful round trips in both frameworks, attempt bookkeeping."""

import numpy as np
import pytest

from edgebench import atomic
from edgebench.train.checkpoint import epoch_seed, load_checkpoint, save_checkpoint, weights_digest
from edgebench.train.spec import load_spec
from edgebench.train.state import downtime_s, stalled_attempts
from tests.conftest import run_document

HPARAMS = {"learning_rate": 0.01, "momentum": 0.9, "weight_decay": 5e-4}


def test_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    save_checkpoint(tmp_path, {"epochs": [{"epoch": 0}], "weights_sha256": "a"})

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", disk_full)  # fails after the data is written, before the rename
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(tmp_path, {"epochs": [{"epoch": 0}, {"epoch": 1}], "weights_sha256": "b"})
    monkeypatch.undo()
    assert load_checkpoint(tmp_path) == {"epochs": [{"epoch": 0}], "weights_sha256": "a"}


def test_no_checkpoint_is_none(tmp_path):
    assert load_checkpoint(tmp_path) is None


def test_epoch_seeds_differ_per_epoch_and_repeat_per_seed():
    assert epoch_seed(0, 1) == epoch_seed(0, 1)
    assert len({epoch_seed(0, e) for e in range(20)} | {epoch_seed(1, 0)}) == 21


def test_digest_sees_any_weight_change():
    weights = {"a": np.zeros((2, 2), np.float32), "b": np.ones(3, np.float32)}
    changed = {**weights, "b": np.array([1, 1, 1.0001], np.float32)}
    assert weights_digest(weights) == weights_digest(dict(reversed(weights.items())))
    assert weights_digest(weights) != weights_digest(changed)


def test_digest_leaves_out_what_only_torch_keeps():
    # BatchNorm's step counter exists in torch's state_dict only; equal weights must give the
    # same digest in both frameworks (tests/board/test_verification.py checks real models).
    weights = {"bn.weight": np.ones(3, np.float32), "bn.running_var": np.ones(3, np.float32)}
    assert weights_digest({**weights, "bn.num_batches_tracked": np.array(7)}) == weights_digest(weights)


def test_verification_mode_is_another_experiment_for_a_checkpoint(tmp_path):
    document = run_document("mxnet", "lenet", tmp_path / "prepared", tmp_path / "work")
    normal = load_spec(document)
    verifying = load_spec({**document, "training": {**document["training"], "verification": True}})
    assert verifying.fingerprint() != normal.fingerprint()
    # Off, the key is left out: checkpoints written before it existed still belong to their run.
    assert load_spec({**document, "training": {**document["training"], "verification": False}}).fingerprint() \
        == normal.fingerprint()
    assert "verification" not in normal.fingerprint()["training"]


def test_stalled_attempts_count_only_the_latest_without_progress():
    attempts = [{"resumed_at_epoch": 0, "epochs_after": 2}, {"resumed_at_epoch": 2}, {"resumed_at_epoch": 2}]
    assert stalled_attempts(attempts) == 2
    assert stalled_attempts(attempts[:1]) == 0


def test_downtime_runs_from_last_checkpoint_to_next_start():
    attempts = [{"started_at": "2026-01-01T00:00:00+00:00", "last_checkpoint_at": "2026-01-01T00:10:00+00:00"},
                {"started_at": "2026-01-01T01:10:00+00:00"}]
    assert downtime_s(attempts) == 3600.0
