"""compile_tables and `edgebench compile`: optional columns, energy sources, completion reasons, Markdown."""

import numpy as np
import pandas as pd
import pytest

from edgebench.analysis.compile import cli, compile_tables
from edgebench.analysis.markdown import to_markdown


def minimal(framework=("mxnet", "pytorch"), model=("lenet", "lenet"), time=(3600.0, 1800.0), power=(10.0, 12.0),
            **extra) -> pd.DataFrame:
    """A table with only the columns compile needs: no std, no runs, no energy, no status."""
    return pd.DataFrame({"framework": list(framework), "model": list(model), "total_time_s": list(time),
                         "avg_power_w": list(power), **{k: list(v) for k, v in extra.items()}})


def test_minimal_tables_are_accepted_and_energy_is_power_times_time():
    compiled = compile_tables({"cfg_a": minimal()})
    energy = compiled["energy"].set_index("framework")
    assert energy.loc["mxnet", "energy_wh"] == pytest.approx(10.0)
    assert energy.loc["pytorch", "energy_wh"] == pytest.approx(6.0)
    assert energy["energy_wh_integrated"].isna().all()
    compilation = compiled["compilation"].set_index("feature")
    assert compilation.loc["total_time", "best_framework"] == "pytorch"
    assert compilation.loc["total_time", "difference_pct"] == pytest.approx(50.0)
    assert compilation.loc["avg_power", "best_framework"] == "mxnet"


def test_recorded_energy_wins_and_power_times_time_fills_gaps():
    t = minimal(energy_wh=[9.5, np.nan], energy_wh_integrated=[9.4, 5.9])
    energy = compile_tables({"cfg_a": t})["energy"].set_index("framework")
    assert energy.loc["mxnet", "energy_wh"] == 9.5
    assert energy.loc["pytorch", "energy_wh"] == pytest.approx(6.0)
    assert energy.loc["pytorch", "energy_wh_integrated"] == 5.9


def test_energy_wide_has_row_and_column_sums_and_leaves_absent_runs_empty():
    compiled = compile_tables({
        "cfg_a": minimal(),
        "cfg_b": minimal(framework=["mxnet"], model=["lenet"], time=[7200.0], power=[5.0]),
    })
    wide = compiled["energy_wide"]
    assert list(wide.columns) == ["model", "framework", "cfg_a", "cfg_b", "sum"]
    rows = wide.set_index(["model", "framework"])
    assert rows.loc[("lenet", "mxnet"), "sum"] == pytest.approx(20.0)
    assert pd.isna(rows.loc[("lenet", "pytorch"), "cfg_b"])
    assert rows.loc[("lenet", "pytorch"), "sum"] == pytest.approx(6.0)
    assert rows.loc[("total", ""), "cfg_a"] == pytest.approx(16.0)
    assert rows.loc[("total", ""), "sum"] == pytest.approx(26.0)


def test_models_absent_from_a_configuration_are_not_applicable_there():
    compiled = compile_tables({"cfg_a": minimal(), "cfg_b": minimal(model=["vgg16", "vgg16"])})
    compilation = compiled["compilation"]
    assert len(compilation) == 2 * 2 * 2  # models x features x configurations
    absent = compilation[(compilation["model"] == "vgg16") & (compilation["hwcfg"] == "cfg_a")]
    assert (absent["best_framework"] == "").all() and absent["difference_pct"].isna().all()
    wide = compiled["compilation_wide"].set_index(["model", "feature"])
    assert wide.loc[("vgg16", "total_time"), "cfg_a"] == "n/a"
    assert wide.loc[("vgg16", "total_time"), "cfg_b"] == "pytorch 50.00%"


def test_completion_uses_status_and_reports_the_reason():
    t = minimal(framework=["mxnet", "pytorch", "mxnet"], model=["lenet", "lenet", "vgg16"],
                time=[3600.0, np.nan, np.nan], power=[10.0, np.nan, np.nan],
                status=["finished", "failed: out of memory at epoch 3", ""])
    completion = compile_tables({"cfg_a": t})["completion"].set_index("framework")
    assert completion.loc["mxnet", "lenet"] == "Yes"
    assert completion.loc["pytorch", "lenet"] == "No: failed: out of memory at epoch 3"
    assert completion.loc["mxnet", "vgg16"] == "No"    # blank status and no time recorded
    assert completion.loc["pytorch", "vgg16"] == "No"  # no row at all


def test_no_tables_is_refused():
    with pytest.raises(ValueError):
        compile_tables({})


def test_cli_names_configurations_by_file_stem_and_prints_markdown(tmp_path, capsys):
    for name in ("orin_gpu", "orin_cpu"):
        minimal().to_csv(tmp_path / f"{name}.csv", index=False)
    assert cli([str(tmp_path / "orin_gpu.csv"), str(tmp_path / "orin_cpu.csv")]) == 0
    out = capsys.readouterr().out
    for heading in ("## compilation", "## energy", "## energy_wide", "## completion"):
        assert heading in out
    assert "| orin_gpu" in out or "orin_gpu |" in out


def test_cli_refuses_two_files_with_one_configuration_name(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        minimal().to_csv(tmp_path / d / "cfg.csv", index=False)
    assert cli([str(tmp_path / "a" / "cfg.csv"), str(tmp_path / "b" / "cfg.csv")]) == 2
    assert "cfg" in capsys.readouterr().err


def test_cli_reports_a_bad_table_by_path_and_writes_nothing(tmp_path, capsys):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    minimal().to_csv(good, index=False)
    minimal(power=["10", "lots"]).to_csv(bad, index=False)
    out = tmp_path / "out"
    assert cli([str(good), str(bad), "-o", str(out)]) == 1
    assert str(bad) in capsys.readouterr().err
    assert not out.exists()


def test_markdown_leaves_missing_cells_empty_and_keeps_text_as_written():
    df = pd.DataFrame({"name": ["a", "b"], "value": [1.23456, np.nan]})
    text = to_markdown(df, floatfmt=".2f")
    lines = text.splitlines()
    assert lines[0].replace(" ", "") == "|name|value|"
    assert "1.23" in lines[2] and "nan" not in text
    assert lines[3].replace(" ", "") == "|b||"
    printed = to_markdown(pd.DataFrame({"pct": ["5.10", "55.10"]}))
    assert "5.10" in printed and "55.10" in printed
