"""Every figure renders to real PNG/PDF files from realistic inputs, and says so when there is nothing to plot."""

import pandas as pd
import pytest

from edgebench.analysis import figures
from tests.test_table import make_run

FIXTURES = "tests/fixtures/thesis"


def saved(plot, tmp_path, name):
    png, pdf = tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"
    figures.save(plot, png, pdf)
    assert png.read_bytes().startswith(b"\x89PNG") and pdf.read_bytes().startswith(b"%PDF")
    return png


def test_comparison_and_energy_from_the_thesis_tables(tmp_path):
    from edgebench.analysis.compile import compile_tables
    from edgebench.analysis.ranking import read_config_table

    tables = {cfg: read_config_table(f"{FIXTURES}/{cfg}.csv") for cfg in ("gpu_cfg1", "cpu_cfg1")}
    compiled = compile_tables(tables)
    compiled["compilation"].to_csv(tmp_path / "compilation.csv", index=False)
    compiled["energy"].to_csv(tmp_path / "energy.csv", index=False)
    plot = figures.framework_comparison(tmp_path / "compilation.csv")
    assert set(plot.data["hwcfg"]) == {"gpu_cfg1", "cpu_cfg1"}
    # Sign encodes the winner: MXNet above the axis, PyTorch below.
    assert ((plot.data["signed_pct"] > 0) == (plot.data["best_framework"] == "mxnet")).all()
    saved(plot, tmp_path, "comparison")
    saved(figures.energy_summary(tmp_path / "energy.csv"), tmp_path, "energy")


def test_learning_curves_and_summary_from_runs(tmp_path):
    runs_root = tmp_path / "results" / "runs"
    for fw in ("pytorch", "mxnet"):
        make_run(runs_root, fw, "lenet", 0, [1.0, 1.1, 0.9], [2.2, 2.0, 1.8], [0.2, 0.3, 0.4], [0.6, 0.7, 0.8])
    epochs = sorted(str(p) for p in runs_root.rglob("epochs.csv"))
    plot = figures.learning_curves(epochs, "cpu_cfg1")
    assert set(plot.data["framework"]) == {"pytorch", "mxnet"} and plot.data["epoch"].max() == 2
    saved(plot, tmp_path, "learning")


def test_learning_curves_draw_exploded_and_nan_losses_at_a_named_cap(tmp_path):
    # Values recorded by the demo: ResNet-152 and DenseNet-121 evaluated after 13 steps.
    runs_root = tmp_path / "results" / "runs"
    make_run(runs_root, "pytorch", "resnet152", 0, [3.1, 4.1], [1.0952731118991963e22, 3295212364.8], [0.1, 0.1], [0.2, 0.2])
    make_run(runs_root, "mxnet", "densenet121", 0, [2.4, 2.4], [float("nan"), 27523651379.2], [0.1, 0.1], [0.2, 0.2])
    plot = figures.learning_curves(sorted(str(p) for p in runs_root.rglob("epochs.csv")), "cpu_cfg1")
    losses = plot.data[plot.data["metric"] != "validation accuracy"]["value"]
    assert losses.max() == figures.LOSS_DISPLAY_CAP and losses.notna().all()
    assert "drawn at 1e+06" in plot.labels.title
    saved(plot, tmp_path, "exploded")


def test_nothing_to_plot_gives_a_figure_that_says_why(tmp_path):
    pd.DataFrame({"model": ["lenet"], "framework": ["mxnet"], "hwcfg": ["cpu_cfg1"], "energy_wh": [None],
                  "energy_wh_integrated": [None]}).to_csv(tmp_path / "energy.csv", index=False)
    plot = figures.energy_summary(tmp_path / "energy.csv")
    assert "no power source was recorded" in plot.labels.title
    saved(plot, tmp_path, "empty")


def test_time_and_energy_to_target_with_a_target_not_reached(tmp_path):
    from edgebench.analysis.table import build_table
    from tests.test_targets import make_run as make_timed_run

    runs = [make_timed_run(tmp_path, fw, accs, model=model, rep=rep)
            for fw, model, accs in (("pytorch", "lenet", [0.1, 0.3, 0.4]), ("mxnet", "lenet", [0.1, 0.15, 0.25]),
                                    ("pytorch", "alexnet", [0.1, 0.1, 0.1]), ("mxnet", "alexnet", [0.3, 0.3, 0.3]))
            for rep in range(2)]
    build_table(runs, targets={"default": {"val_acc": 0.2}}).to_csv(tmp_path / "cpu_cfg1.csv", index=False)
    plot = figures.to_target(tmp_path / "cpu_cfg1.csv", "cpu_cfg1")
    labels = plot.data.set_index(["framework", "model", "metric"])["label"]
    assert labels[("pytorch", "alexnet", "time to target (s)")] == "not reached"
    assert labels[("mxnet", "lenet", "energy to target (Wh)")] == ""
    assert plot.data.set_index(["framework", "model", "metric"])["value"][("pytorch", "lenet", "time to target (s)")] \
        == pytest.approx(20.0)
    saved(plot, tmp_path, "to_target")
    build_table(runs).to_csv(tmp_path / "none.csv", index=False)
    assert "no target accuracy configured" in figures.to_target(tmp_path / "none.csv", "cpu_cfg1").labels.title
