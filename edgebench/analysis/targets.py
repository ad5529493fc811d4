"""Time and energy to a target accuracy: how systems are compared in MLPerf Training and DAWNBench.

A target is a validation top-1 (`val_acc`) and/or top-5 (`val_top5`) fraction, from config
`targets` (`default` for every model, a model's name for its own). A run reaches it at the first
epoch whose validation scores are all at least the target's; its time to target is the sum of
`epoch_seconds` up to the end of that epoch (training and validation passes, as `total_time_s`:
the validation pass is what shows the target was reached), its energy to target the same sum
over the epochs' energy, both methods (run.json `energy.epochs`). A run that never reaches it
says "not reached", never a number.
"""

import math

import pandas as pd

from edgebench.analysis.stats import mean_std_ci, olympic_mean

METRICS = ("val_acc", "val_top5")  # epochs.csv columns a target may name
TO_TARGET_METRICS = ["epochs_to_target", "time_to_target_s", "energy_to_target_wh", "energy_to_target_wh_integrated"]
# Per cell: the mean and its 95 % CI over runs, the std of the runs (Welch), MLPerf's olympic mean.
TARGET_COLUMNS = (["target", "target_status"] + TO_TARGET_METRICS
                  + [f"{m}_{suffix}" for m in TO_TARGET_METRICS[1:]
                     for suffix in ("std_runs", "ci95_low", "ci95_high", "olympic")])


def target_for(targets: dict | None, model: str) -> dict | None:
    """Return the model's target ({metric: fraction}), the default one, or None where none is configured."""
    targets = targets or {}
    return targets.get(model) or targets.get("default") or None


def describe(target: dict) -> str:
    """Return a target as text, e.g. `val_acc >= 0.2`."""
    return " and ".join(f"{metric} >= {target[metric]:g}" for metric in METRICS if metric in target)


def reached_epoch(epochs: pd.DataFrame, target: dict) -> int | None:
    """Return the position of the first epoch that meets every part of the target, or None."""
    met = pd.Series(True, index=epochs.index)
    for metric, threshold in target.items():
        met &= pd.to_numeric(epochs[metric], errors="coerce") >= threshold
    hits = met.to_numpy().nonzero()[0]
    return int(hits[0]) if len(hits) else None


def _energy_to(summary: dict, last: int) -> tuple[float | None, float | None]:
    """Return (thesis-method, integrated) energy in Wh of epochs 0..last, None where unknown."""
    records = (summary.get("energy") or {}).get("epochs") or []
    records = [r for r in records if r["epoch"] <= last]
    if len(records) != last + 1 or any(r["energy_wh_integrated"] is None for r in records):
        return None, None
    integrated = sum(r["energy_wh_integrated"] for r in records)
    readings = sum(r["readings"] for r in records)
    # The thesis's method over these epochs: the mean of their readings times their time.
    return (sum(r["power_sum_w"] for r in records) / readings if readings else None), integrated


def run_to_target(summary: dict, epochs: pd.DataFrame, target: dict) -> dict:
    """Return one finished run's epochs, time and energy to the target, or reached=False with its best scores."""
    best = {metric: float(pd.to_numeric(epochs[metric], errors="coerce").max()) for metric in target}
    k = reached_epoch(epochs, target)
    if k is None:
        return {"reached": False, "best": best}
    time_s = float(epochs["epoch_seconds"].iloc[:k + 1].sum())
    avg_power_w, integrated = _energy_to(summary, int(epochs["epoch"].iloc[k]))
    return {"reached": True, "best": best, "epochs_to_target": k + 1, "time_to_target_s": time_s,
            "energy_to_target_wh": None if avg_power_w is None else avg_power_w * time_s / 3600.0,
            "energy_to_target_wh_integrated": integrated}


def cell_to_target(runs: list[tuple[dict, pd.DataFrame]], target: dict | None) -> dict:
    """Return a table cell's to-target columns from its finished runs (summary, epochs)."""
    row = dict.fromkeys(TARGET_COLUMNS, math.nan)
    if target is None:
        return {**row, "target": None, "target_status": "no target configured (config `targets`)"}
    row["target"] = describe(target)
    if not runs:
        return {**row, "target_status": "no finished run"}
    results = [run_to_target(s, e, target) for s, e in runs]
    missed = [r for r in results if not r["reached"]]
    if missed:
        # A mean over the runs that happened to get there would flatter the cell: no number.
        best = ", ".join(f"{m} {max(r['best'][m] for r in results):.3g}" for m in target)
        return {**row, "target_status": f"not reached by {len(missed)} of {len(results)} run(s) (best {best})"}
    row["target_status"] = f"reached by {len(results)} of {len(results)} run(s)"
    row["epochs_to_target"] = sum(r["epochs_to_target"] for r in results) / len(results)
    for metric in TO_TARGET_METRICS[1:]:
        values = [r[metric] for r in results if r[metric] is not None]
        if len(values) < len(results):
            continue  # energy unknown for some run (no power source): left empty, as energy_wh is
        row[metric], row[f"{metric}_std_runs"], row[f"{metric}_ci95_low"], row[f"{metric}_ci95_high"] = \
            mean_std_ci(values)
        row[f"{metric}_olympic"] = olympic_mean(values)
    return row
