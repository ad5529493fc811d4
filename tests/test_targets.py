"""Time and energy to a target accuracy: synthetic runs whose target epoch is known, their energy
block made by the runner's own code (edgebench.train.energy.summarise) from a synthetic trace."""

import json

import numpy as np
import pandas as pd
import pytest

from edgebench.analysis.ranking import rank_table, read_config_table
from edgebench.analysis.stats import olympic_mean
from edgebench.analysis.table import build_table, table_markdown
from edgebench.atomic import write_csv_atomic
from edgebench.train.energy import summarise

START = pd.Timestamp("2026-01-01T00:00:00+00:00")


def make_run(root, framework, val_accs, *, epoch_s=10.0, power_w=2.0, model="lenet", rep=0, val_top5=None):
    """Write a finished run of len(val_accs) epochs of epoch_s seconds each at a constant power (None: no power)."""
    n = len(val_accs)
    starts = [START + pd.Timedelta(seconds=i * epoch_s) for i in range(n)]
    epochs = pd.DataFrame({
        "epoch": range(n), "train_loss": np.linspace(2.3, 1.0, n), "train_acc": val_accs, "train_top5": [0.9] * n,
        "val_loss": np.linspace(2.3, 1.2, n), "val_acc": val_accs, "val_top5": val_top5 or [0.9] * n,
        "epoch_seconds": [epoch_s] * n, "train_seconds": [0.8 * epoch_s] * n, "val_seconds": [0.2 * epoch_s] * n,
        "started_at": [s.isoformat() for s in starts],
        "ended_at": [(s + pd.Timedelta(seconds=epoch_s)).isoformat() for s in starts]})
    run = root / framework / model / "cpu_cfg1" / f"rep{rep}"
    run.mkdir(parents=True)
    epochs.to_csv(run / "epochs.csv", index=False)
    if power_w is None:
        hw = pd.DataFrame({"timestamp": [START.isoformat()]})
    else:  # one sample a second from before the first epoch to after the last
        times = [START + pd.Timedelta(seconds=t) for t in range(-1, int(n * epoch_s) + 2)]
        hw = pd.DataFrame({"timestamp": [t.isoformat() for t in times], "power_total_mw": power_w * 1000.0})
    summary = {"framework": framework, "model": model, "rep": rep, "status": "done", "device_profile": "demo",
               "total_time_s": n * epoch_s, "provenance": {"hostname": "board1"},
               "energy": summarise(hw, epochs, n * epoch_s, interval_s=1.0)}
    (run / "run.json").write_text(json.dumps(summary))
    return run / "run.json"


def test_the_first_epoch_at_the_target_gives_epochs_time_and_energy(tmp_path):
    runs = [make_run(tmp_path, "pytorch", [0.1, 0.25, 0.4]), make_run(tmp_path, "mxnet", [0.1, 0.15, 0.3])]
    table = build_table(runs, targets={"default": {"val_acc": 0.2}}).set_index("framework")
    assert table.loc["pytorch", "target"] == "val_acc >= 0.2"
    assert table.loc["pytorch", "target_status"] == "reached by 1 of 1 run(s)"
    assert table.loc["pytorch", "epochs_to_target"] == 2 and table.loc["mxnet", "epochs_to_target"] == 3
    assert table.loc["pytorch", "time_to_target_s"] == pytest.approx(20.0)
    # 2 W for the 20 s of epochs 0 and 1: 40 J, by both methods.
    assert table.loc["pytorch", "energy_to_target_wh_integrated"] == pytest.approx(40 / 3600)
    assert table.loc["pytorch", "energy_to_target_wh"] == pytest.approx(40 / 3600)
    assert table.loc["mxnet", "energy_to_target_wh_integrated"] == pytest.approx(60 / 3600)
    out = tmp_path / "cpu_cfg1.csv"
    write_csv_atomic(table.reset_index(), out)
    ranking = rank_table(read_config_table(out)).set_index("feature")
    assert ranking.loc["time_to_target", ["best_framework", "difference"]].tolist() == ["pytorch", 10.0]
    assert ranking.loc["energy_to_target", "best_framework"] == "pytorch"


def test_a_target_not_reached_is_said_and_never_a_number(tmp_path):
    runs = [make_run(tmp_path, "pytorch", [0.1, 0.25, 0.4]), make_run(tmp_path, "mxnet", [0.1, 0.15, 0.3])]
    table = build_table(runs, targets={"default": {"val_acc": 0.35}})
    out = tmp_path / "cpu_cfg1.csv"
    write_csv_atomic(table, out)
    read = pd.read_csv(out).set_index("framework")
    assert read.loc["mxnet", "target_status"] == "not reached by 1 of 1 run(s) (best val_acc 0.3)"
    assert read.loc["mxnet", ["epochs_to_target", "time_to_target_s", "energy_to_target_wh_integrated"]].isna().all()
    assert read.loc["pytorch", "epochs_to_target"] == 3
    to_target = table_markdown(table).split("Time and energy to target")[1]
    mxnet_row = next(line for line in to_target.splitlines() if line.startswith("| mxnet"))
    assert mxnet_row.count("not reached") == 5  # four cells and the status
    ranking = rank_table(read_config_table(out)).set_index("feature")
    assert ranking.loc["time_to_target", "best_framework"] == ""
    assert ranking.loc["time_to_target", "note"] == ("not ranked: mxnet: not reached by 1 of 1 run(s) "
                                                     "(best val_acc 0.3)")


def test_every_part_of_a_target_and_per_model_targets_count(tmp_path):
    run = make_run(tmp_path, "pytorch", [0.3, 0.3, 0.3], val_top5=[0.5, 0.6, 0.8])
    targets = {"default": {"val_acc": 0.9}, "lenet": {"val_acc": 0.2, "val_top5": 0.7}}
    row = build_table([run], targets=targets).iloc[0]
    assert row["target"] == "val_acc >= 0.2 and val_top5 >= 0.7" and row["epochs_to_target"] == 3
    assert build_table([run]).iloc[0]["target_status"] == "no target configured (config `targets`)"


def test_without_power_the_time_to_target_stands_and_the_energy_is_empty(tmp_path):
    row = build_table([make_run(tmp_path, "pytorch", [0.1, 0.25], power_w=None)],
                      targets={"default": {"val_acc": 0.2}}).iloc[0]
    assert row["time_to_target_s"] == pytest.approx(20.0)
    assert pd.isna(row["energy_to_target_wh"]) and pd.isna(row["energy_to_target_wh_integrated"])


def test_repetitions_give_the_mean_its_interval_and_the_olympic_score(tmp_path):
    # Five runs reaching the target at epochs 1..5 of 10 s: 10, 20, 30, 40, 50 s.
    runs = [make_run(tmp_path, "pytorch", [0.1] * k + [0.5] + [0.5] * (4 - k), rep=k) for k in range(5)]
    row = build_table(runs, targets={"default": {"val_acc": 0.5}}).iloc[0]
    assert row["time_to_target_s"] == pytest.approx(30.0)
    assert row["time_to_target_s_olympic"] == pytest.approx(30.0)  # mean of 20, 30, 40
    assert row["time_to_target_s_ci95_low"] < 30 < row["time_to_target_s_ci95_high"]
    assert row["target_status"] == "reached by 5 of 5 run(s)"


def test_the_olympic_score_drops_the_fastest_and_slowest_of_five_or_more():
    assert olympic_mean([10, 20, 30, 40, 100]) == pytest.approx(30.0)
    assert olympic_mean([1, 2, 3, 4, 5, 1000]) == pytest.approx(3.5)
    assert np.isnan(olympic_mean([1, 2, 3, 4]))  # MLPerf asks for at least five runs
