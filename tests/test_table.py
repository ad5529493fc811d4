"""The per-configuration table from run.json + epochs.csv files on disk."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from edgebench.analysis.ranking import rank_table, read_config_table
from edgebench.analysis.table import COLUMNS, EXTRA_COLUMNS, MixedBoardsError, build_table, table_markdown
from edgebench.atomic import write_csv_atomic
from edgebench.train.energy import summarise


def make_run(root, framework, model, rep, epoch_seconds, losses, val_accs, val_top5, status="done", energy=None,
             host="board1", profile="demo", reason=None):
    run = root / framework / model / "cpu_cfg1" / f"rep{rep}"
    run.mkdir(parents=True)
    n = len(epoch_seconds)
    pd.DataFrame({
        "epoch": range(n), "train_loss": losses, "train_acc": [0.5] * n, "train_top5": [0.9] * n,
        "val_loss": losses, "val_acc": val_accs, "val_top5": val_top5, "epoch_seconds": epoch_seconds,
        "started_at": ["2026-01-01T00:00:00+00:00"] * n, "ended_at": ["2026-01-01T00:00:01+00:00"] * n,
    }).to_csv(run / "epochs.csv", index=False)
    summary = {"framework": framework, "model": model, "rep": rep, "status": status, "reason": reason,
               "total_time_s": float(sum(epoch_seconds)), "device_profile": profile,
               "provenance": {"hostname": host},
               "energy": energy or {"avg_power_w": None, "energy_wh": None, "energy_wh_integrated": None}}
    (run / "run.json").write_text(json.dumps(summary))
    return run / "run.json"


def test_means_and_stds_follow_the_thesis_definitions(tmp_path):
    runs = [
        make_run(tmp_path, "pytorch", "lenet", 0, [10, 12], [2.0, 1.0], [0.2, 0.4], [0.6, 0.8],
                 energy={"avg_power_w": 5.0, "power_std_w": 0.5, "energy_wh": 5.0 * 22 / 3600, "energy_wh_integrated": 0.03}),
        make_run(tmp_path, "pytorch", "lenet", 1, [14, 16], [3.0, 2.0], [0.3, 0.5], [0.7, 0.9],
                 energy={"avg_power_w": 7.0, "power_std_w": 1.5, "energy_wh": 7.0 * 30 / 3600, "energy_wh_integrated": 0.05}),
        make_run(tmp_path, "mxnet", "lenet", 0, [8, 8], [1.5, 1.5], [0.1, 0.1], [0.5, 0.5]),
    ]
    table = build_table(runs)
    assert list(table.columns) == COLUMNS + EXTRA_COLUMNS  # one host: no host column
    assert list(table["framework"]) == ["mxnet", "pytorch"]
    pt = table.set_index("framework").loc["pytorch"]
    assert pt["runs"] == 2
    assert pt["total_time_s"] == 26 and pt["total_time_s_std"] == pytest.approx(np.std([22, 30], ddof=1))
    assert pt["epoch_time_s"] == 13 and pt["epoch_time_s_std"] == pytest.approx(np.std([10, 12, 14, 16], ddof=1))
    assert pt["loss"] == 2.0 and pt["loss_std"] == pytest.approx(np.std([2, 1, 3, 2], ddof=1))
    assert pt["val_acc"] == pytest.approx(0.35) and pt["top5_acc"] == pytest.approx(0.75)
    assert pt["avg_power_w"] == 6.0 and pt["avg_power_w_std"] == 1.0
    assert pt["energy_wh"] == pytest.approx((5 * 22 + 7 * 30) / 3600 / 2)
    assert pt["status"] == "done"
    # Between-run spread and 95% t-intervals, for repetitions.
    assert pt["epoch_time_s_std_runs"] == pytest.approx(np.std([11, 15], ddof=1))
    assert pt["val_acc_std_runs"] == pytest.approx(np.std([0.3, 0.4], ddof=1))
    low, high = stats.t.interval(0.95, 1, loc=26, scale=np.std([22, 30], ddof=1) / np.sqrt(2))
    assert (pt["total_time_s_ci95_low"], pt["total_time_s_ci95_high"]) == (pytest.approx(low), pytest.approx(high))
    mx = table.set_index("framework").loc["mxnet"]
    assert mx["runs"] == 1 and np.isnan(mx["total_time_s_std"])  # one run: no spread to report
    assert np.isnan(mx["avg_power_w"]) and np.isnan(mx["energy_wh"])  # no sensor: empty, never zero


def test_models_keep_config_order_and_csv_round_trips(tmp_path):
    runs = [make_run(tmp_path, fw, model, 0, [1.0], [1.0], [0.5], [0.9])
            for model in ("lenet", "alexnet") for fw in ("pytorch", "mxnet")]
    table = build_table(runs)
    assert list(zip(table["model"], table["framework"])) == [
        ("lenet", "mxnet"), ("lenet", "pytorch"), ("alexnet", "mxnet"), ("alexnet", "pytorch")]
    out = tmp_path / "cpu_cfg1.csv"
    write_csv_atomic(table, out)
    back = pd.read_csv(out)
    assert list(back.columns)[:len(COLUMNS)] == COLUMNS and len(back) == 4
    assert back["avg_power_w"].isna().all()


def test_failed_run_gives_its_reason_and_no_numbers(tmp_path):
    runs = [make_run(tmp_path, "mxnet", "vgg16", 0, [], [], [], [], status="failed",
                     reason="TrainingDiverged in epoch 0: loss is nan")]
    (runs[0].parent / "epochs.csv").unlink()
    row = build_table(runs).iloc[0]
    assert row["status"] == "failed: TrainingDiverged in epoch 0: loss is nan"
    assert row["runs"] == 0 and np.isnan(row["total_time_s"]) and np.isnan(row["val_acc"])


def test_runs_from_several_boards_get_a_host_column(tmp_path):
    runs = [make_run(tmp_path, "pytorch", "lenet", 0, [1.0], [1.0], [0.5], [0.9], host="tx2-a"),
            make_run(tmp_path, "mxnet", "lenet", 0, [1.0], [1.0], [0.5], [0.9], host="tx2-b")]
    table = build_table(runs).set_index("framework")
    assert table.loc["pytorch", "host"] == "tx2-a" and table.loc["mxnet", "host"] == "tx2-b"


def test_runs_from_different_kinds_of_board_are_refused(tmp_path):
    runs = [make_run(tmp_path, "pytorch", "lenet", 0, [1.0], [1.0], [0.5], [0.9], host="a", profile="tx2"),
            make_run(tmp_path, "mxnet", "lenet", 0, [1.0], [1.0], [0.5], [0.9], host="b", profile="nano")]
    with pytest.raises(MixedBoardsError, match="different board descriptions.*tx2: pytorch/lenet/rep0@a"):
        build_table(runs)


def partial_trace_energy(covered_s: float) -> dict:
    """Return run.json's energy block of two 100 s epochs at 2 W whose power trace stops at covered_s."""
    t0 = pd.Timestamp("2026-01-01T00:00:00+00:00")
    seconds = np.arange(0, int(covered_s) + 1)
    hw = pd.DataFrame({"timestamp": [(t0 + pd.Timedelta(seconds=int(s))).isoformat() for s in seconds],
                       "power_total_mw": 2000.0})
    epochs = pd.DataFrame({"started_at": [t0.isoformat(), (t0 + pd.Timedelta(seconds=100)).isoformat()],
                           "ended_at": [(t0 + pd.Timedelta(seconds=100)).isoformat(),
                                        (t0 + pd.Timedelta(seconds=200)).isoformat()]})
    return summarise(hw, epochs, 200.0, interval_s=1.0)


def test_a_partial_power_trace_is_a_coverage_column_a_note_and_marked_energy_cells(tmp_path):
    # PyTorch's trace covers 62.5 % of its training (0.069 Wh of 0.111 Wh), MXNet's all of it.
    runs = [make_run(tmp_path, "pytorch", "lenet", 0, [100, 100], [1.0, 1.0], [0.5, 0.5], [0.9, 0.9],
                     energy=partial_trace_energy(125)),
            make_run(tmp_path, "mxnet", "lenet", 0, [100, 100], [1.2, 1.2], [0.4, 0.4], [0.8, 0.8],
                     energy=partial_trace_energy(200))]
    out = tmp_path / "cpu_cfg1.csv"
    write_csv_atomic(build_table(runs), out)
    table = pd.read_csv(out).set_index("framework")
    assert table["power_coverage"].dtype == float and table["energy_wh_integrated"].dtype == float
    assert table.loc["pytorch", "power_coverage"] == pytest.approx(0.625)
    assert table.loc["pytorch", "energy_wh_integrated"] == pytest.approx(0.0694, abs=1e-4)
    assert "62.5%" in table.loc["pytorch", "energy_note"] and "under 99%" in table.loc["pytorch", "energy_note"]
    assert table.loc["mxnet", "power_coverage"] == pytest.approx(1.0) and pd.isna(table.loc["mxnet", "energy_note"])

    blocks = table_markdown(build_table(runs)).split("\n\n")  # the table, its notes, then titled blocks
    row = {line.split("|")[1].strip(): line for line in blocks[0].splitlines() if line.startswith("|")}
    assert "0.06944 †" in row["pytorch"] and "0.1111 †" in row["pytorch"] and "†" not in row["mxnet"]
    assert blocks[1].startswith("† pytorch/lenet: partial power trace") and len(blocks) == 6  # + efficiency

    ranking = rank_table(read_config_table(out)).set_index("feature")
    assert ranking.loc["avg_power", "best_framework"] == ""
    assert "pytorch 62.5%" in ranking.loc["avg_power", "note"]
    assert ranking.loc["loss", "best_framework"] == "pytorch" and pd.isna(ranking.loc["loss", "note"])


def test_the_worst_run_sets_a_cells_coverage(tmp_path):
    runs = [make_run(tmp_path, "pytorch", "lenet", rep, [100, 100], [1.0, 1.0], [0.5, 0.5], [0.9, 0.9],
                     energy=partial_trace_energy(covered)) for rep, covered in enumerate((200, 190))]
    row = build_table(runs).iloc[0]
    assert row["power_coverage"] == pytest.approx(0.95)
    assert "in 1 of 2 run(s), down to 95.0%" in row["energy_note"]


def test_a_verification_run_is_not_a_measurement(tmp_path):
    run_json = make_run(tmp_path, "pytorch", "lenet", 0, [1.0], [1.0], [0.5], [0.9])
    summary = json.loads(run_json.read_text())
    summary["training"] = {"verification": True}
    run_json.write_text(json.dumps(summary))
    row = build_table([run_json]).iloc[0]
    assert row["status"].startswith("verification: 1 of 1 run(s) in float64") and row["runs"] == 1
