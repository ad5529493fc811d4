"""Failures are results: a diverging run is recorded, the rest of the matrix goes on."""

import json

import pandas as pd
import pytest

from tests.conftest import TINY, Workflow

pytestmark = pytest.mark.e2e


def test_nan_loss_is_recorded_and_the_table_still_builds(checkout, tmp_path_factory):
    # A learning rate this large drives LeNet's loss to inf/NaN within the first epoch.
    config = {**TINY, "models": ["lenet"], "training": {"epochs": 2, "learning_rate": 1.0e6}}
    workflow = Workflow(checkout, tmp_path_factory.mktemp("diverge"), config)
    workflow.run()
    table = pd.read_csv(workflow.workdir / "results/tables/cpu_cfg1.csv")
    assert sorted(table["framework"]) == ["mxnet", "pytorch"]
    assert table["status"].str.startswith("failed: TrainingDiverged in epoch 0: loss is").all()
    assert (table["runs"] == 0).all()
    for framework in ("pytorch", "mxnet"):
        summary = json.loads((workflow.workdir / f"results/runs/{framework}/lenet/cpu_cfg1/rep0/run.json").read_text())
        assert summary["status"] == "failed"
        assert "TrainingDiverged" in summary["reason"] and "loss is" in summary["reason"]
    assert "Nothing to be done" in workflow.run("-n").stdout  # a failure is a result, not a retry loop
