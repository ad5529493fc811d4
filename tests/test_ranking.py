"""rank_table and `edgebench rank`: direction per feature, ties, missing data, Welch tests, bad input."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from edgebench.analysis.ranking import RANKING_COLUMNS, cli, rank_table
from edgebench.analysis.stats import mean_std_ci


def table(**overrides) -> pd.DataFrame:
    """A two-framework, one-model table; keyword arguments replace columns."""
    data = {
        "framework": ["mxnet", "pytorch"], "model": ["lenet", "lenet"],
        "total_time_s": [100.0, 80.0], "epoch_time_s": [10.0, 8.0], "avg_power_w": [5.0, 4.0],
        "loss": [1.5, 2.0], "val_acc": [0.6, 0.4], "top5_acc": [0.9, 0.95],
    }
    data.update(overrides)
    return pd.DataFrame(data)


def row(ranking: pd.DataFrame, feature: str, model: str = "lenet") -> pd.Series:
    return ranking[(ranking["feature"] == feature) & (ranking["model"] == model)].iloc[0]


def test_lower_is_better_for_time_power_loss_higher_for_accuracy():
    ranking = rank_table(table())
    assert list(ranking.columns) == RANKING_COLUMNS
    assert row(ranking, "total_time")["best_framework"] == "pytorch"
    assert row(ranking, "avg_power")["best_framework"] == "pytorch"
    assert row(ranking, "loss")["best_framework"] == "mxnet"
    assert row(ranking, "val_acc")["best_framework"] == "mxnet"
    assert row(ranking, "top5_acc")["best_framework"] == "pytorch"


def test_difference_pct_is_relative_to_the_worse_value():
    ranking = rank_table(table())
    assert row(ranking, "total_time")[["difference", "difference_pct"]].tolist() == pytest.approx([20.0, 20.0])
    # accuracy: the worse is the lower one, so 0.2 / 0.4
    assert row(ranking, "val_acc")[["difference", "difference_pct"]].tolist() == pytest.approx([0.2, 50.0])


def test_equal_values_are_a_tie():
    got = row(rank_table(table(avg_power_w=[4.0, 4.0])), "avg_power")
    assert got["best_framework"] == "tie" and got["difference"] == 0 and got["difference_pct"] == 0


def test_a_framework_that_did_not_finish_gives_empty_rows_not_a_crash():
    t = pd.concat([table(), table(framework=["pytorch"], model=["vgg16"], **{
        c: [1.0] for c in ("total_time_s", "epoch_time_s", "avg_power_w", "loss", "val_acc", "top5_acc")})])
    ranking = rank_table(t)
    vgg = ranking[ranking["model"] == "vgg16"]
    assert len(vgg) == 6
    assert (vgg["best_framework"] == "").all() and vgg["difference"].isna().all()
    assert (ranking[ranking["model"] == "lenet"]["best_framework"] != "").all()


def test_a_missing_value_empties_only_its_feature():
    ranking = rank_table(table(top5_acc=[0.9, np.nan]))
    assert row(ranking, "top5_acc")["best_framework"] == ""
    assert row(ranking, "loss")["best_framework"] == "mxnet"


def test_a_missing_feature_column_is_accepted_and_reported(tmp_path, capsys):
    path = tmp_path / "partial.csv"
    table().drop(columns=["top5_acc", "epoch_time_s"]).to_csv(path, index=False)
    out = tmp_path / "ranking.csv"
    assert cli([str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "top5_acc" in err and "epoch_time_s" in err
    ranking = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert ranking.loc[ranking["feature"].isin(["top5_acc", "epoch_time"]), "best_framework"].isna().all()
    assert row(ranking, "total_time")["best_framework"] == "pytorch"


def test_welch_test_from_repeated_runs_matches_scipy_on_the_raw_runs():
    runs = {"mxnet": [100.0, 104.0, 98.0, 101.0], "pytorch": [80.0, 95.0, 71.0]}
    summary = {fw: mean_std_ci(v) for fw, v in runs.items()}
    t = table(runs=[4, 3], total_time_s=[summary["mxnet"][0], summary["pytorch"][0]],
              total_time_s_std=[summary["mxnet"][1], summary["pytorch"][1]])
    got = row(rank_table(t), "total_time")
    expected = stats.ttest_ind(runs["mxnet"], runs["pytorch"], equal_var=False).pvalue
    assert got["p_value"] == pytest.approx(expected)
    assert got["significant"] == (expected < 0.05)
    # no std column for power: no test there
    assert pd.isna(row(rank_table(t), "avg_power")["p_value"])


def test_significance_flag_follows_the_p_value():
    far = row(rank_table(table(runs=[5, 5], avg_power_w=[5.0, 4.0], avg_power_w_std=[0.05, 0.05])), "avg_power")
    near = row(rank_table(table(runs=[5, 5], avg_power_w=[5.0, 4.0], avg_power_w_std=[3.0, 3.0])), "avg_power")
    assert far["p_value"] < 0.05 and far["significant"] is True
    assert near["p_value"] > 0.05 and near["significant"] is False


def test_single_runs_give_no_welch_test():
    got = row(rank_table(table(runs=[1, 5], total_time_s_std=[np.nan, 2.0])), "total_time")
    assert pd.isna(got["p_value"]) and got["significant"] is None


def test_more_than_two_frameworks_is_refused():
    t = pd.concat([table(), table(framework=["tensorflow", "jax"])])
    with pytest.raises(ValueError, match="two frameworks"):
        rank_table(t)


def test_duplicate_rows_are_refused():
    with pytest.raises(ValueError, match="more than one row"):
        rank_table(table(framework=["pytorch", "pytorch"]))


def test_non_numeric_value_is_named_with_its_column_and_row(tmp_path, capsys):
    path = tmp_path / "gpu_cfg1.csv"
    table(avg_power_w=["5.0", "4,2 W"]).to_csv(path, index=False)
    assert cli([str(path)]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and "avg_power_w" in err and "'4,2 W'" in err and "row(s) 2" in err


@pytest.mark.parametrize("content", [None, "", "framework,model\n\"unterminated,x\n"])
def test_unreadable_inputs_exit_with_a_message_naming_the_file(tmp_path, capsys, content):
    path = tmp_path / "table.csv"
    if content is not None:
        path.write_text(content)
    assert cli([str(path)]) == 1
    assert str(path) in capsys.readouterr().err


def test_missing_required_column_is_named(tmp_path, capsys):
    path = tmp_path / "t.csv"
    table().drop(columns=["framework"]).to_csv(path, index=False)
    assert cli([str(path)]) == 1
    assert "framework" in capsys.readouterr().err


def test_output_is_written_atomically_and_replaces_an_old_file(tmp_path):
    path, out = tmp_path / "t.csv", tmp_path / "deep" / "ranking.csv"
    table().to_csv(path, index=False)
    out.parent.mkdir()
    out.write_text("stale")
    assert cli([str(path), "-o", str(out)]) == 0
    assert out.read_text().startswith("feature,model,best_framework")
    assert [p.name for p in out.parent.iterdir()] == ["ranking.csv"]


def test_stdout_markdown_marks_unrankable_rows(tmp_path, capsys):
    path = tmp_path / "t.csv"
    table(loss=[1.5, np.nan]).to_csv(path, index=False)
    assert cli([str(path)]) == 0
    lines = [l for l in capsys.readouterr().out.splitlines() if "| loss" in l]
    assert len(lines) == 1 and "n/a" in lines[0]


def test_a_run_whose_status_says_unfinished_is_not_ranked():
    ranking = rank_table(table(status=["failed: killed at epoch 4", "finished"]))
    assert (ranking["best_framework"] == "").all()
    assert (rank_table(table(status=["finished", ""]))["best_framework"] != "").all()


def test_a_partial_power_trace_leaves_power_unranked_and_says_why():
    ranking = rank_table(table(power_coverage=[0.5, 0.995]))
    got = row(ranking, "avg_power")
    assert got["best_framework"] == "" and pd.isna(got["difference"])
    assert got["note"] == "not ranked: partial power trace (mxnet 50.0% of the training time covered, < 99%)"
    assert row(ranking, "total_time")["best_framework"] == "pytorch"  # time is not from the trace
    # An unknown coverage (no power source, or a table from elsewhere) is not a partial one.
    assert row(rank_table(table(power_coverage=[np.nan, 1.0])), "avg_power")["best_framework"] == "pytorch"


def test_the_markdown_never_prints_a_small_difference_as_zero():
    from edgebench.analysis.markdown import format_number
    from edgebench.analysis.ranking import ranking_markdown

    # 10.0004 s against 10.0 s: the thesis's one decimal would print 0.0 beside 0.004 %.
    ranking = rank_table(table(total_time_s=[10.0004, 10.0]))
    line = next(line for line in ranking_markdown(ranking).splitlines() if "| total_time" in line)
    assert "| 0.000400 " in line and "| 0.00400 " in line
    assert [format_number(v, 1) for v in (1234.56, 0.0, -0.00123, None)] == ["1234.6", "0.0", "-0.00123", ""]
