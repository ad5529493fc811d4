"""Per-configuration table (the contract in docs/design.md; thesis Table 5.6 form) from the runs' files.

Statistics follow the thesis, which reported one run per cell with "mean ± std" over its
epochs: `loss`, `val_acc`, `top5_acc` and `epoch_time_s` are means over a run's epochs, then
over runs, and their `_std` columns are the sample std over all epochs of all runs.
`avg_power_w_std` is the std of the power readings within the training windows. Whole-run
quantities (total time, energy) vary only between runs, so `total_time_s_std` is over runs.

Beyond the contract, for repetitions: `<metric>_std_runs` (the std of the per-run values, what
a Welch test between frameworks needs), `<metric>_ci95_low/_high` (95% t-interval of the mean
over runs; empty for a single run), and `host` where one configuration's runs came from
several machines. `power_coverage` is the lowest share of a run's training time its power trace
covered; below MIN_COVERAGE `energy_note` says that the power and energy cells come from a
partial trace (and the Markdown marks them).
"""

import json
import math
from pathlib import Path

import pandas as pd

from edgebench.analysis.efficiency import EFFICIENCY_COLUMNS, cell_efficiency
from edgebench.analysis.markdown import to_markdown
from edgebench.analysis.stats import mean_std_ci
from edgebench.analysis.targets import TARGET_COLUMNS, cell_to_target, target_for
from edgebench.monitor.energy import MIN_COVERAGE

COLUMNS = ["framework", "model", "runs", "total_time_s", "total_time_s_std", "epoch_time_s",
           "epoch_time_s_std", "avg_power_w", "avg_power_w_std", "energy_wh", "energy_wh_integrated",
           "loss", "loss_std", "val_acc", "val_acc_std", "top5_acc", "status"]
CI_METRICS = ["total_time_s", "epoch_time_s", "avg_power_w", "energy_wh", "energy_wh_integrated"]
RUNS_STD_METRICS = ["epoch_time_s", "avg_power_w", "energy_wh", "loss", "val_acc", "top5_acc"]
# The monitor's other sources (run.json energy.wall and energy.compared): the wall meter's whole-board
# figures beside the module's, and how far the direct rails' mean power is from tegrastats'.
SOURCE_COLUMNS = ["avg_power_w_wall", "energy_wh_wall", "power_coverage_wall", "wall_lost_readings",
                  "avg_power_w_rails_vs_tegrastats"]
EXTRA_COLUMNS = ([f"{m}_std_runs" for m in RUNS_STD_METRICS]
                 + [f"{m}_ci95_{side}" for m in CI_METRICS for side in ("low", "high")]
                 + ["interference_pct", "power_coverage", "energy_note", "throttled"]
                 + SOURCE_COLUMNS + TARGET_COLUMNS + EFFICIENCY_COLUMNS)
# The cells that come from the power trace: what a partial trace makes partial.
POWER_CELLS = ["avg_power_w", "energy_wh", "energy_wh_integrated"]
PARTIAL_MARK = "†"


class MixedBoardsError(ValueError):
    """Runs of one configuration came from boards with different board descriptions."""


def _std(values) -> float:
    """Return the sample standard deviation, NaN for fewer than two values."""
    values = pd.Series(values, dtype=float).dropna()
    return float(values.std(ddof=1)) if len(values) > 1 else math.nan


def _over_runs(values) -> tuple[float, float, float, float]:
    """Return (mean, std, CI low, CI high) over runs; all NaN without any value."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return mean_std_ci(present) if present else (math.nan,) * 4


def load_run(run_json) -> tuple[dict, pd.DataFrame]:
    """Return a run's run.json summary and its epochs.csv rows (empty if the run did not finish)."""
    run_json = Path(run_json)
    summary = json.loads(run_json.read_text())
    epochs_path = run_json.with_name("epochs.csv")
    epochs = pd.read_csv(epochs_path) if epochs_path.exists() else pd.DataFrame()
    return summary, epochs


def run_values(summary: dict, epochs: pd.DataFrame) -> dict:
    """Return one finished run's per-run values of the table's metrics."""
    energy = summary.get("energy") or {}
    return {
        "total_time_s": summary["total_time_s"],
        "epoch_time_s": epochs["epoch_seconds"].mean(),
        "avg_power_w": energy.get("avg_power_w"),
        "power_std_w": energy.get("power_std_w"),
        "energy_wh": energy.get("energy_wh"),
        "energy_wh_integrated": energy.get("energy_wh_integrated"),
        "loss": epochs["train_loss"].mean(),
        "val_acc": epochs["val_acc"].mean(),
        "top5_acc": epochs["val_top5"].mean(),
    }


def energy_note(coverages: list) -> str | None:
    """Return the note on a cell whose runs' power traces covered these shares of their training, or None."""
    partial = [c for c in coverages if c < MIN_COVERAGE]
    if not partial:
        return None
    return (f"partial power trace: it covered under {MIN_COVERAGE:.0%} of the training time in {len(partial)} of "
            f"{len(coverages)} run(s), down to {min(partial):.1%}; energy_wh_integrated counts the covered part only, "
            "avg_power_w and energy_wh come from it")


def cell_status(summaries: list[dict]) -> str:
    """Return the status of a cell: done, failed: <reason>, refused: <reason>, or mixed: ... across repetitions."""
    statuses = sorted({s.get("status", "unknown") if s.get("status") not in ("failed", "refused") else
                       f"{s['status']}: {s.get('reason') or 'no reason recorded'}" for s in summaries})
    return statuses[0] if len(statuses) == 1 else "mixed: " + "; ".join(statuses)


def summarise_cell(runs: list[tuple[dict, pd.DataFrame]], target: dict | None = None, flops: dict | None = None,
                   peak: dict | None = None) -> dict:
    """Return the table row of one (framework, model) from its repetitions.

    target: its to-target columns (analysis/targets.py); flops and peak: its efficiency
    columns (analysis/efficiency.py).
    """
    done = [(s, e) for s, e in runs if s.get("status") == "done" and len(e)]
    per_run = pd.DataFrame([run_values(s, e) for s, e in done],
                           columns=["total_time_s", "epoch_time_s", "avg_power_w", "power_std_w", "energy_wh",
                                    "energy_wh_integrated", "loss", "val_acc", "top5_acc"])
    epochs = pd.concat([e for _, e in done]) if done else pd.DataFrame(columns=["epoch_seconds", "train_loss", "val_acc"])
    row = {"runs": len(done), "status": cell_status([s for s, _ in runs])}
    interference = [(s.get("interference") or {}) for s, _ in done]
    shares = [i["interference_pct"] for i in interference if i.get("interference_pct") is not None]
    row["interference_pct"] = sum(shares) / len(shares) if shares else None
    coverages = [(s.get("energy") or {}).get("coverage") for s, _ in done]
    coverages = [c for c in coverages if c is not None]
    # The worst run's: one partial trace is enough to make a mean over runs partial.
    row["power_coverage"] = min(coverages) if coverages else None
    row["energy_note"] = energy_note(coverages)
    throttling = [(s.get("throttling") or {}) for s, _ in done]
    # True where a run was held back, False where every run was checked and was not, empty where unknown.
    row["throttled"] = True if any(t.get("throttled") for t in throttling) else (
        False if throttling and all(t.get("throttled") is False for t in throttling) else None)
    if row["status"] == "done":
        row["status"] = not_a_measurement(done) or "done"
    for metric in per_run.columns.drop("power_std_w"):
        mean, std, low, high = _over_runs(per_run[metric].tolist())
        row[metric] = mean
        if metric in RUNS_STD_METRICS:
            row[f"{metric}_std_runs"] = std
        if metric in CI_METRICS:
            row[f"{metric}_ci95_low"], row[f"{metric}_ci95_high"] = low, high
    row["total_time_s_std"] = _std(per_run["total_time_s"])
    row["epoch_time_s_std"] = _std(epochs["epoch_seconds"])
    row["avg_power_w_std"] = _over_runs(per_run["power_std_w"].tolist())[0]
    row["loss_std"] = _std(epochs["train_loss"])
    row["val_acc_std"] = _std(epochs["val_acc"])
    row.update(cell_sources(done))
    row.update(cell_to_target(done, target))
    row.update(cell_efficiency(done, flops, peak))
    return row


def contended_reason(done: list) -> str | None:
    """Return why a cell's runs were disturbed by other work on their cores, or None."""
    interference = [(s.get("interference") or {}) for s, _ in done]
    contended = [i for i in interference if i.get("contended")]
    if not contended:
        return None
    worst = max(i["interference_pct"] for i in contended)
    return (f"contended: {len(contended)} of {len(done)} run(s), up to {worst:.1f}% of the measured "
            f"cores' busy time was other work (> {contended[0]['threshold_pct']:g}%)")


def throttled_reason(done: list) -> str | None:
    """Return why a cell's clocks were held back (the later run inherits the heat), or None."""
    throttled = [t for t in ((s.get("throttling") or {}) for s, _ in done) if t.get("throttled")]
    if not throttled:
        return None
    return f"throttled: {len(throttled)} of {len(done)} run(s); {throttled[0]['findings'][0]}"


def verification_reason(done: list) -> str | None:
    """Return why a cell's runs prove the frameworks train alike but do not time normal training, or None."""
    verifying = [s for s, _ in done if (s.get("training") or {}).get("verification")]
    if not verifying:
        return None
    return (f"verification: {len(verifying)} of {len(done)} run(s) in float64 without dropout "
            "(training.verification), not a measurement")


# Why a cell whose runs all finished is still no measurement to publish or rank, checked in
# this order; the first that applies becomes the cell's status (the rankings skip it).
NOT_A_MEASUREMENT = (contended_reason, throttled_reason, verification_reason)


def not_a_measurement(done: list) -> str | None:
    """Return the status of a finished cell that is not a measurement (the first reason found), or None."""
    return next((reason for reason in (check(done) for check in NOT_A_MEASUREMENT) if reason), None)


def cell_sources(done: list) -> dict:
    """Return a cell's SOURCE_COLUMNS: means over its runs, the lowest coverage, the lost readings summed.

    Empty where no run had the source: a cell without a wall meter has no wall figures.
    """
    walls = [(s.get("energy") or {}).get("wall") for s, _ in done]
    walls = [w for w in walls if w]
    compared = [(s.get("energy") or {}).get("compared") or {} for s, _ in done]
    tegrastats = [c["difference_w"] for c in compared
                  if c.get("other") == "tegrastats" and c.get("difference_w") is not None]
    coverages = [w["coverage"] for w in walls if w.get("coverage") is not None]
    return {
        "avg_power_w_wall": _over_runs([w.get("avg_power_w") for w in walls])[0] if walls else None,
        "energy_wh_wall": _over_runs([w.get("energy_wh") for w in walls])[0] if walls else None,
        "power_coverage_wall": min(coverages) if coverages else None,
        "wall_lost_readings": sum(int(w.get("lost_in_training") or 0) for w in walls) if walls else None,
        "avg_power_w_rails_vs_tegrastats": sum(tegrastats) / len(tegrastats) if tegrastats else None,
    }


def check_one_board_kind(summaries: list[dict]) -> None:
    """Raise MixedBoardsError if the runs came from boards with different board descriptions."""
    profiles = {}
    for s in summaries:
        profiles.setdefault(s.get("device_profile"), []).append(
            f"{s['framework']}/{s['model']}/rep{s.get('rep', 0)}@{(s.get('provenance') or {}).get('hostname', '?')}")
    if len(profiles) > 1:
        detail = "; ".join(f"{p}: {', '.join(runs)}" for p, runs in profiles.items())
        raise MixedBoardsError(f"runs of one configuration come from different board descriptions ({detail}); "
                               "a table compares like with like, so split them into separate configurations")


def build_table(run_jsons, targets: dict | None = None, flops: dict | None = None,
                peak: dict | None = None) -> pd.DataFrame:
    """Return the per-configuration table, one row per (framework, model), from run.json paths.

    targets is config `targets`: the accuracy whose time and energy to reach the table reports;
    flops (results/flops.json) and peak (results/peak/<hwcfg>.json) give the efficiency columns.
    """
    cells: dict[tuple[str, str], list] = {}
    for path in run_jsons:
        summary, epochs = load_run(path)
        cells.setdefault((summary["framework"], summary["model"]), []).append((summary, epochs))
    summaries = [s for runs in cells.values() for s, _ in runs]
    check_one_board_kind(summaries)
    hosts = {(s.get("provenance") or {}).get("hostname") for s in summaries} - {None}
    rows = []
    for (fw, model), runs in cells.items():
        row = {"framework": fw, "model": model, **summarise_cell(runs, target_for(targets, model), flops, peak)}
        if len(hosts) > 1:  # several boards served this configuration: say which ran what
            row["host"] = "+".join(sorted({(s.get("provenance") or {}).get("hostname", "?") for s, _ in runs}))
        rows.append(row)
    table = pd.DataFrame(rows, columns=COLUMNS + EXTRA_COLUMNS + (["host"] if len(hosts) > 1 else []))
    # Models keep the order in which the runs were given (the config's order), frameworks side by side.
    model_order = list(dict.fromkeys(table["model"]))
    table["model"] = pd.Categorical(table["model"], categories=model_order, ordered=True)
    table = table.sort_values(["model", "framework"], ignore_index=True)
    table["model"] = table["model"].astype(str)
    return table


def table_markdown(table: pd.DataFrame) -> str:
    """Return the contract's columns as Markdown, power cells of partial traces marked and explained below."""
    shown = table[COLUMNS].copy()
    partial = table["energy_note"].notna() if "energy_note" in table.columns else pd.Series(False, index=table.index)
    for column in POWER_CELLS:
        shown[column] = [None if pd.isna(v) else f"{v:.4g}" + (f" {PARTIAL_MARK}" if flag else "")
                         for v, flag in zip(table[column], partial)]
    notes = [f"{PARTIAL_MARK} {fw}/{model}: {note}"
             for fw, model, note in zip(table["framework"], table["model"], table["energy_note"]) if not pd.isna(note)
             ] if partial.any() else []
    return "\n\n".join([to_markdown(shown, floatfmt=".4g"), *notes, *sources_markdown(table),
                        to_target_markdown(table), efficiency_markdown(table)])


def sources_markdown(table: pd.DataFrame) -> list:
    """Return the wall meter's and the rails' comparison columns as Markdown, where any run had them."""
    present = [c for c in SOURCE_COLUMNS if c in table.columns and table[c].notna().any()]
    if not present:
        return []
    return ["Power from the monitor's other sources (wall: the whole board at the socket, beside the module's "
            "avg_power_w and energy_wh; rails_vs_tegrastats: the direct rails' mean minus tegrastats'):\n\n"
            + to_markdown(table[["framework", "model", *present]], floatfmt=".4g")]


def efficiency_markdown(table: pd.DataFrame) -> str:
    """Return the efficiency columns as Markdown, the peak fraction in per cent, the reason where one is missing."""
    shown = table[["framework", "model", "train_samples_per_s", "joules_per_sample", "achieved_gflops_per_s",
                   "peak_gflops_per_s"]].copy()
    shown["peak_pct"] = table["peak_fraction"] * 100
    shown["efficiency_note"] = table["efficiency_note"]
    return ("Efficiency over the training passes (GFLOP/s from one FLOP count per model for both frameworks, "
            "against the host's float32 GEMM peak on the same cores):\n\n" + to_markdown(shown, floatfmt=".4g"))


def to_target_markdown(table: pd.DataFrame) -> str:
    """Return the time and energy to target per cell as Markdown: "not reached" where so, never a blank."""
    shown = table[["framework", "model", "target"]].copy()
    # A reached target with an unknown energy (no power source) stays empty, as energy_wh does.
    missing = ["" if status.startswith("reached") else "not reached" if status.startswith("not reached") else "n/a"
               for status in table["target_status"]]
    for column in ("epochs_to_target", "time_to_target_s", "energy_to_target_wh", "energy_to_target_wh_integrated"):
        shown[column] = [missing[i] if pd.isna(v) else f"{v:.4g}" for i, v in enumerate(table[column])]
    shown["target_status"] = table["target_status"]
    return "Time and energy to target (sums over the epochs up to the first that reaches it):\n\n" + to_markdown(shown)
