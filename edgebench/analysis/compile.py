"""Compilation across hardware configurations: best framework per model and configuration (thesis
Table 5.18), energy per run (Table 5.20, long and wide) and which runs finished (Table 5.5).
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

from edgebench.analysis.markdown import to_markdown
from edgebench.analysis.ranking import is_finished, rank_table, read_config_table, validate_table
from edgebench.atomic import write_text_atomic

COMPILED_FEATURES = ["total_time", "avg_power"]  # the two the thesis compiles in Table 5.18
COMPILATION_COLUMNS = ["model", "feature", "hwcfg", "best_framework", "difference", "difference_pct",
                       "p_value", "significant"]
ENERGY_COLUMNS = ["model", "framework", "hwcfg", "energy_wh", "energy_wh_integrated"]
SUM_COLUMN = "sum"
TOTAL_ROW = "total"
SECONDS_PER_HOUR = 3600.0


def _ordered_union(values) -> list:
    return list(dict.fromkeys(values))


def _compilation(tables: dict, models: list) -> pd.DataFrame:
    parts = []
    for hwcfg, table in tables.items():
        ranking = rank_table(table)
        ranking = ranking[ranking["feature"].isin(COMPILED_FEATURES)].set_index(["feature", "model"])
        for model in models:
            for feature in COMPILED_FEATURES:
                if (feature, model) in ranking.index:
                    row = ranking.loc[(feature, model)].to_dict()
                else:  # the model is not in this configuration's table at all
                    row = {"best_framework": ""}
                parts.append({"model": model, "feature": feature, "hwcfg": hwcfg, **row})
    compilation = pd.DataFrame(parts).reindex(columns=COMPILATION_COLUMNS)
    for column in ("difference", "difference_pct", "p_value"):
        compilation[column] = compilation[column].astype(float)
    compilation["best_framework"] = compilation["best_framework"].fillna("")
    return compilation


def compilation_wide(compilation: pd.DataFrame) -> pd.DataFrame:
    """Return Table 5.18's layout: one row per model and feature, one "framework pct%" cell per configuration."""
    cells = compilation.assign(cell=[
        "n/a" if best == "" else (best if best == "tie" or pd.isna(pct) else f"{best} {pct:.2f}%")
        for best, pct in zip(compilation["best_framework"], compilation["difference_pct"])
    ])
    wide = cells.pivot(index=["model", "feature"], columns="hwcfg", values="cell")
    # pivot sorts alphabetically; restore the order the tables and models were given in
    wide = wide.reindex(index=pd.MultiIndex.from_frame(compilation[["model", "feature"]].drop_duplicates()),
                        columns=_ordered_union(compilation["hwcfg"]))
    return wide.reset_index().rename_axis(columns=None)


def _column_or_nan(table: pd.DataFrame, column: str) -> pd.Series:
    return table[column] if column in table.columns else pd.Series(float("nan"), index=table.index)


def _energy(tables: dict) -> pd.DataFrame:
    parts = []
    for hwcfg, table in tables.items():
        from_power = _column_or_nan(table, "avg_power_w") * _column_or_nan(table, "total_time_s") / SECONDS_PER_HOUR
        # a recorded energy wins; avg power x time (the thesis's Table 5.20 rule) fills in where there is none
        energy = _column_or_nan(table, "energy_wh").fillna(from_power)
        parts.append(pd.DataFrame({"model": table["model"], "framework": table["framework"], "hwcfg": hwcfg,
                                   "energy_wh": energy.astype(float),
                                   "energy_wh_integrated": _column_or_nan(table, "energy_wh_integrated").astype(float)}))
    return pd.concat(parts, ignore_index=True)[ENERGY_COLUMNS]


def energy_wide_table(energy: pd.DataFrame, models: list, frameworks: list, hwcfgs: list) -> pd.DataFrame:
    """Return Table 5.20's layout: energy_wh per (model, framework) row and configuration column, with sums."""
    wide = energy.pivot(index=["model", "framework"], columns="hwcfg", values="energy_wh")
    rows = pd.MultiIndex.from_tuples([(m, f) for m in models for f in frameworks
                                      if ((energy["model"] == m) & (energy["framework"] == f)).any()],
                                     names=["model", "framework"])
    wide = wide.reindex(index=rows, columns=hwcfgs)
    # min_count=1: a row or column with no energy at all sums to empty, not to a misleading 0
    wide[SUM_COLUMN] = wide.sum(axis=1, min_count=1)
    wide = wide.reset_index().rename_axis(columns=None)
    totals = {"model": TOTAL_ROW, "framework": "", **{c: wide[c].sum(min_count=1) for c in hwcfgs + [SUM_COLUMN]}}
    return pd.concat([wide, pd.DataFrame([totals])], ignore_index=True)


def _completion_cell(row: pd.Series) -> str:
    status = row.get("status")
    if status is None or pd.isna(status) or str(status).strip() == "":
        # no status recorded: a table row with a total time is a run that finished
        return "Yes" if pd.notna(row.get("total_time_s")) else "No"
    return "Yes" if is_finished(status) else f"No: {str(status).strip()}"


def _completion(tables: dict, models: list, frameworks: list) -> pd.DataFrame:
    rows = []
    for hwcfg, table in tables.items():
        for framework in frameworks:
            row = {"hwcfg": hwcfg, "framework": framework}
            for model in models:
                match = table[(table["framework"] == framework) & (table["model"] == model)]
                row[model] = _completion_cell(match.iloc[0]) if len(match) else "No"
            rows.append(row)
    return pd.DataFrame(rows, columns=["hwcfg", "framework", *models])


def compile_tables(tables: dict) -> dict:
    """Return {compilation, compilation_wide, energy, energy_wide, completion} DataFrames from {hwcfg: table}.

    Configurations keep the dict's order; models and frameworks their order of first appearance
    (frameworks sorted), so the thesis's tables come out in the thesis's order.
    """
    if not tables:
        raise ValueError("compile needs at least one per-configuration table")
    tables = {hwcfg: validate_table(table, source=hwcfg) for hwcfg, table in tables.items()}
    models = _ordered_union(m for table in tables.values() for m in table["model"])
    frameworks = sorted(_ordered_union(f for table in tables.values() for f in table["framework"]))
    compilation = _compilation(tables, models)
    energy = _energy(tables)
    return {
        "compilation": compilation,
        "compilation_wide": compilation_wide(compilation),
        "energy": energy,
        "energy_wide": energy_wide_table(energy, models, frameworks, list(tables)),
        "completion": _completion(tables, models, frameworks),
    }


def render_markdown(compiled: dict) -> dict:
    """Return {name: Markdown text} for the tables compile writes (compilation in Table 5.18's wide layout)."""
    energy_format = ".2f"
    return {
        "compilation": to_markdown(compiled["compilation_wide"]),
        "energy": to_markdown(compiled["energy"], floatfmt=energy_format),
        "energy_wide": to_markdown(compiled["energy_wide"], floatfmt=energy_format),
        "completion": to_markdown(compiled["completion"]),
    }


OUTPUTS = ["compilation", "energy", "energy_wide", "completion"]


def cli(argv) -> int:
    """Run `edgebench compile TABLE.csv... [-o DIR]` and return the exit code."""
    parser = argparse.ArgumentParser(
        prog="edgebench compile",
        description="Compile rankings, energy and completion across per-configuration tables "
                    "(the configuration name is each file's stem).")
    parser.add_argument("tables", nargs="+", help="per-configuration tables (results/tables/<hwcfg>.csv)")
    parser.add_argument("-o", "--output-dir",
                        help="write compilation/energy/energy_wide/completion .csv and .md here "
                             "(default: print the Markdown renderings to stdout)")
    args = parser.parse_args(argv)
    stems = [Path(p).stem for p in args.tables]
    repeated = sorted({s for s in stems if stems.count(s) > 1})
    if repeated:
        print(f"edgebench compile: configuration name(s) {', '.join(repeated)} given by more than one file; "
              "each file stem must name one configuration", file=sys.stderr)
        return 2
    try:
        compiled = compile_tables({stem: read_config_table(path) for stem, path in zip(stems, args.tables)})
    except ValueError as error:
        print(f"edgebench compile: {error}", file=sys.stderr)
        return 1
    markdown = render_markdown(compiled)
    if args.output_dir:
        out = Path(args.output_dir)
        for name in OUTPUTS:
            write_text_atomic(out / f"{name}.csv", compiled[name].to_csv(index=False))
            write_text_atomic(out / f"{name}.md", markdown[name] + "\n")
    else:
        print("\n\n".join(f"## {name}\n\n{markdown[name]}" for name in OUTPUTS))
    return 0
