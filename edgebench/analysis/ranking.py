"""Framework ranking per hardware configuration (the thesis's Tables 5.7, 5.10, 5.12, 5.14, 5.17).

For every feature and model: which framework did better, by how much, and by what share of the
worse value; with a Welch t-test where the table holds enough repetitions to run one. A power
feature is not ranked where a framework's power trace covered less than MIN_COVERAGE of its
training (the table's power_coverage), and the row's `note` says so.
"""

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from edgebench.analysis.markdown import format_number, to_markdown
from edgebench.analysis.stats import welch_p
from edgebench.atomic import write_text_atomic
from edgebench.monitor.energy import MIN_COVERAGE

# feature -> (value column, std column, lower is better). The std column is read as the spread
# across the `runs` repetitions, which is what the Welch test needs.
FEATURES = {
    "total_time": ("total_time_s", "total_time_s_std", True),
    "epoch_time": ("epoch_time_s", "epoch_time_s_std", True),
    "avg_power": ("avg_power_w", "avg_power_w_std", True),
    "loss": ("loss", "loss_std", True),
    "val_acc": ("val_acc", "val_acc_std", False),
    "top5_acc": ("top5_acc", "top5_acc_std", False),
    # Ranked only where the table has them (edgebench's tables; not the thesis's own).
    "time_to_target": ("time_to_target_s", "time_to_target_s_std_runs", True),
    "energy_to_target": ("energy_to_target_wh_integrated", "energy_to_target_wh_integrated_std_runs", True),
}
OPTIONAL_FEATURES = {"time_to_target", "energy_to_target"}
# Features measured from the power trace: a partial trace makes them partial.
POWER_FEATURES = {"avg_power", "energy_to_target"}
RANKING_COLUMNS = ["feature", "model", "best_framework", "difference", "difference_pct", "p_value", "significant",
                   "note"]
NUMERIC_COLUMNS = [
    "runs", "total_time_s", "total_time_s_std", "epoch_time_s", "epoch_time_s_std", "avg_power_w",
    "avg_power_w_std", "energy_wh", "energy_wh_integrated", "loss", "loss_std", "val_acc",
    "val_acc_std", "top5_acc", "top5_acc_std", "power_coverage",
    "time_to_target_s", "time_to_target_s_std_runs", "energy_to_target_wh_integrated",
    "energy_to_target_wh_integrated_std_runs",
]
SIGNIFICANCE_LEVEL = 0.05
TIE = "tie"
# statuses that mean "this run finished"; a row with any other non-blank status is not ranked
FINISHED_STATUSES = {"ok", "done", "complete", "completed", "finished", "success", "succeeded", "yes"}


def is_finished(status) -> bool:
    """Return whether a table's status cell means a finished run (a blank status counts as finished)."""
    if status is None or pd.isna(status) or str(status).strip() == "":
        return True
    return str(status).strip().lower() in FINISHED_STATUSES


def validate_table(table: pd.DataFrame, source: str = "table") -> pd.DataFrame:
    """Return a copy of a per-configuration table with numeric columns as floats, or raise ValueError.

    source names the table in error messages (usually its file path).
    """
    missing = [c for c in ("framework", "model") if c not in table.columns]
    if missing:
        raise ValueError(f"{source}: missing required column(s) {', '.join(missing)}")
    table = table.copy()
    for key in ("framework", "model"):
        blank = table[key].isna() | (table[key].astype(str).str.strip() == "")
        if blank.any():
            raise ValueError(f"{source}: empty {key} in data row(s) {_row_numbers(blank)}")
        table[key] = table[key].astype(str).str.strip()
    duplicated = table.duplicated(["framework", "model"], keep=False)
    if duplicated.any():
        pairs = sorted(set(zip(table.loc[duplicated, "framework"], table.loc[duplicated, "model"])))
        raise ValueError(f"{source}: more than one row for (framework, model) {pairs}")
    for column in NUMERIC_COLUMNS:
        if column not in table.columns:
            continue
        numbers = pd.to_numeric(table[column], errors="coerce")
        bad = numbers.isna() & table[column].notna() & (table[column].astype(str).str.strip() != "")
        if bad.any():
            first = table.loc[bad, column].iloc[0]
            raise ValueError(f"{source}: column {column} holds a non-numeric value {first!r} "
                             f"in data row(s) {_row_numbers(bad)}")
        table[column] = numbers.astype(float)
    return table


def _row_numbers(mask: pd.Series) -> str:
    # 1-based data-row numbers, as a person counts them below the header
    return ", ".join(str(i + 1) for i, flag in enumerate(mask.to_numpy()) if flag)


def read_config_table(path) -> pd.DataFrame:
    """Return the validated per-configuration table read from a CSV file, or raise ValueError."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype={"framework": str, "model": str, "status": str})
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a readable CSV table ({error})") from None
    return validate_table(table, source=str(path))


def _value(table: pd.DataFrame, framework: str, model: str, column: str) -> float:
    if column not in table.columns:
        return math.nan
    match = table.loc[(table["framework"] == framework) & (table["model"] == model), column]
    return float(match.iloc[0]) if len(match) else math.nan


def partial_trace_note(table: pd.DataFrame, model: str, frameworks: list[str]) -> str | None:
    """Return why a power feature of model is not ranked (a framework's power trace was partial), or None."""
    coverage = {fw: _value(table, fw, model, "power_coverage") for fw in frameworks}
    # NaN (no power source, or a table without the column) is unknown coverage, not a partial one.
    partial = [(fw, c) for fw, c in coverage.items() if c < MIN_COVERAGE]
    if not partial:
        return None
    covered = ", ".join(f"{fw} {c:.1%}" for fw, c in partial)
    return f"not ranked: partial power trace ({covered} of the training time covered, < {MIN_COVERAGE:.0%})"


def target_note(table: pd.DataFrame, model: str, frameworks: list[str]) -> str | None:
    """Return why a to-target feature of model is not ranked (a target not reached, none configured), or None."""
    if "target_status" not in table.columns:
        return None
    statuses = table.loc[table["model"] == model].set_index("framework")["target_status"]
    unreached = [f"{fw}: {statuses[fw]}" for fw in frameworks
                 if fw in statuses and not str(statuses[fw]).startswith("reached")]
    return f"not ranked: {'; '.join(unreached)}" if unreached else None


def _compare(feature: str, model: str, table: pd.DataFrame, frameworks: list[str]) -> dict:
    value_col, std_col, lower_is_better = FEATURES[feature]
    row = dict.fromkeys(RANKING_COLUMNS)
    row.update(feature=feature, model=model, best_framework="")
    if len(frameworks) != 2:
        return row
    if feature in POWER_FEATURES:
        # A mean over part of one framework's training against a whole one is unlike with like.
        row["note"] = partial_trace_note(table, model, frameworks)
        if row["note"]:
            return row
    fw_a, fw_b = frameworks
    a, b = (_value(table, fw, model, value_col) for fw in frameworks)
    if math.isnan(a) or math.isnan(b):
        if feature in OPTIONAL_FEATURES:
            row["note"] = target_note(table, model, frameworks)
        return row  # one framework did not finish (or did not record this): nothing to rank
    if a == b:
        row["best_framework"] = TIE
    else:
        a_wins = (a < b) if lower_is_better else (a > b)
        row["best_framework"] = fw_a if a_wins else fw_b
    worse = max(a, b) if lower_is_better else min(a, b)
    row["difference"] = abs(a - b)
    # relative to the worse value, as the thesis does; undefined when that value is zero
    row["difference_pct"] = row["difference"] / abs(worse) * 100 if worse != 0 else (0.0 if a == b else math.nan)
    # The spread between runs is what the test needs: edgebench tables carry it as
    # <metric>_std_runs where their contract `_std` is the thesis's spread over epochs.
    if f"{value_col}_std_runs" in table.columns:
        std_col = f"{value_col}_std_runs"
    p = welch_p(a, _value(table, fw_a, model, std_col), _value(table, fw_a, model, "runs"),
                b, _value(table, fw_b, model, std_col), _value(table, fw_b, model, "runs"))
    if p is not None:
        row["p_value"] = p
        row["significant"] = bool(p < SIGNIFICANCE_LEVEL)
    return row


def rank_table(table: pd.DataFrame) -> pd.DataFrame:
    """Return the ranking (one row per feature and model) of the two frameworks in a per-configuration table.

    Rows whose comparison is impossible (a framework missing for that model, a run whose status
    says it did not finish, or a missing value) keep an empty best_framework and empty numbers;
    equal values give best_framework "tie". p_value/significant are filled only where both
    frameworks have >= 2 runs and a std. A power feature where a framework's power_coverage is
    below MIN_COVERAGE is left unranked too, with the reason in `note`.
    """
    table = validate_table(table)
    models = list(dict.fromkeys(table["model"]))  # first-appearance order, as the table lists them
    if "status" in table.columns:
        # partial numbers of an unfinished run would compare unlike with like
        table = table[table["status"].map(is_finished)]
    frameworks = sorted(table["framework"].unique())
    if len(frameworks) > 2:
        raise ValueError(f"a ranking compares two frameworks; the table holds {len(frameworks)}: {frameworks}")
    features = [f for f in FEATURES if f not in OPTIONAL_FEATURES or FEATURES[f][0] in table.columns]
    rows = [_compare(feature, model, table, frameworks) for feature in features for model in models]
    ranking = pd.DataFrame(rows, columns=RANKING_COLUMNS)
    ranking["difference"] = ranking["difference"].astype(float)
    ranking["difference_pct"] = ranking["difference_pct"].astype(float)
    ranking["p_value"] = ranking["p_value"].astype(float)
    return ranking


def ranking_markdown(ranking: pd.DataFrame) -> str:
    """Return the ranking as a Markdown table with differences rounded as the thesis prints them."""
    decimals = {"total_time": 1, "epoch_time": 1, "avg_power": 3, "loss": 3, "val_acc": 3, "top5_acc": 3,
                "time_to_target": 1, "energy_to_target": 4}
    shown = ranking.copy()
    shown["best_framework"] = shown["best_framework"].replace("", "n/a")
    # The thesis's decimals, with more where a small difference would otherwise print as zero.
    shown["difference"] = [format_number(d, decimals.get(f, 3)) for f, d in zip(ranking["feature"], ranking["difference"])]
    shown["difference_pct"] = [format_number(p, 2) for p in ranking["difference_pct"]]
    shown["p_value"] = ["" if pd.isna(p) else f"{p:.3g}" for p in ranking["p_value"]]
    shown["significant"] = ["" if s is None or pd.isna(s) else ("yes" if s else "no") for s in ranking["significant"]]
    return to_markdown(shown)


def cli(argv) -> int:
    """Run `edgebench rank TABLE.csv [-o OUT.csv]` and return the exit code."""
    parser = argparse.ArgumentParser(prog="edgebench rank",
                                     description="Rank two frameworks per feature and model from one per-configuration table.")
    parser.add_argument("table", help="per-configuration table (results/tables/<hwcfg>.csv)")
    parser.add_argument("-o", "--output", help="write the ranking CSV here (default: print Markdown to stdout)")
    args = parser.parse_args(argv)
    try:
        table = read_config_table(args.table)
        absent = [spec[0] for spec in FEATURES.values() if spec[0] not in table.columns]
        if absent:
            print(f"edgebench rank: {args.table}: no column(s) {', '.join(absent)}; "
                  "those features are left unranked", file=sys.stderr)
        ranking = rank_table(table)
    except ValueError as error:
        print(f"edgebench rank: {error}", file=sys.stderr)
        return 1
    unranked = ranking.loc[ranking["best_framework"] == "", ["feature", "model"]]
    if len(unranked):
        models = sorted(set(unranked["model"]))
        print(f"edgebench rank: {len(unranked)} comparison(s) left empty (a framework or value missing, "
              "or a partial power trace: see note) "
              f"for model(s) {', '.join(models)}", file=sys.stderr)
    if args.output:
        write_text_atomic(args.output, ranking.to_csv(index=False))
    else:
        print(ranking_markdown(ranking))
    return 0
