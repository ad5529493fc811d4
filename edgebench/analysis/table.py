"""Per-configuration table (DESIGN.md contract; thesis Table 5.6 form) from the runs' files.

Statistics follow the thesis, which reported one run per cell with "mean ± std" over its
epochs: `loss`, `val_acc`, `top5_acc` and `epoch_time_s` are means over a run's epochs, then
over runs, and their `_std` columns are the sample std over all epochs of all runs. Whole-run
quantities (total time, energy) vary only between runs, so their std is over runs (empty for
a single run). `avg_power_w_std` is the std of the power samples within the training window.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["framework", "model", "runs", "total_time_s", "total_time_s_std", "epoch_time_s",
           "epoch_time_s_std", "avg_power_w", "avg_power_w_std", "energy_wh", "energy_wh_integrated",
           "loss", "loss_std", "val_acc", "val_acc_std", "top5_acc", "status"]


def _std(values) -> float:
    """Return the sample standard deviation, NaN for fewer than two values."""
    values = pd.Series(values, dtype=float).dropna()
    return float(values.std(ddof=1)) if len(values) > 1 else np.nan


def _mean(values) -> float:
    values = pd.Series(values, dtype=float).dropna()
    return float(values.mean()) if len(values) else np.nan


def load_run(run_json) -> tuple[dict, pd.DataFrame]:
    """Return a run's run.json summary and its epochs.csv rows (empty if the run did not finish)."""
    run_json = Path(run_json)
    summary = json.loads(run_json.read_text())
    epochs_path = run_json.with_name("epochs.csv")
    epochs = pd.read_csv(epochs_path) if epochs_path.exists() else pd.DataFrame()
    return summary, epochs


def summarise_cell(runs: list[tuple[dict, pd.DataFrame]]) -> dict:
    """Return the table row of one (framework, model) from its repetitions."""
    done = [(s, e) for s, e in runs if s.get("status") == "done" and len(e)]
    epochs = pd.concat([e for _, e in done]) if done else pd.DataFrame(columns=["epoch_seconds"])
    energy = [s.get("energy") or {} for s, _ in done]
    statuses = sorted({s.get("status", "unknown") for s, _ in runs})
    return {
        "runs": len(done),
        "total_time_s": _mean([s["total_time_s"] for s, _ in done]),
        "total_time_s_std": _std([s["total_time_s"] for s, _ in done]),
        "epoch_time_s": _mean([e["epoch_seconds"].mean() for _, e in done]),
        "epoch_time_s_std": _std(epochs["epoch_seconds"]),
        "avg_power_w": _mean([x.get("avg_power_w") for x in energy]),
        "avg_power_w_std": _mean([x.get("power_std_w") for x in energy]),
        "energy_wh": _mean([x.get("energy_wh") for x in energy]),
        "energy_wh_integrated": _mean([x.get("energy_wh_integrated") for x in energy]),
        "loss": _mean([e["train_loss"].mean() for _, e in done]),
        "loss_std": _std(epochs.get("train_loss", [])),
        "val_acc": _mean([e["val_acc"].mean() for _, e in done]),
        "val_acc_std": _std(epochs.get("val_acc", [])),
        "top5_acc": _mean([e["val_top5"].mean() for _, e in done]),
        "status": statuses[0] if len(statuses) == 1 else "mixed: " + ",".join(statuses),
    }


def build_table(run_jsons) -> pd.DataFrame:
    """Return the per-configuration table, one row per (framework, model), from run.json paths."""
    cells: dict[tuple[str, str], list] = {}
    for path in run_jsons:
        summary, epochs = load_run(path)
        cells.setdefault((summary["framework"], summary["model"]), []).append((summary, epochs))
    rows = [{"framework": fw, "model": model, **summarise_cell(runs)} for (fw, model), runs in cells.items()]
    table = pd.DataFrame(rows, columns=COLUMNS)
    # Models keep the order in which the runs were given (the config's order), frameworks side by side.
    model_order = list(dict.fromkeys(table["model"]))
    table["model"] = pd.Categorical(table["model"], categories=model_order, ordered=True)
    table = table.sort_values(["model", "framework"], ignore_index=True)
    table["model"] = table["model"].astype(str)
    return table


