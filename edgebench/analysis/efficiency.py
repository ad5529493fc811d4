"""Efficiency against the hardware: samples per second, joules per sample, achieved GFLOP/s, and
the share of the host's peak that is.

Per run, over the training passes only (validation excluded, since it neither computes a
backward pass nor counts as training): `train_samples_per_s` = samples trained / the summed
`train_seconds`; `joules_per_sample` = the training passes' integrated energy (run.json
`energy.epochs[].train_energy_wh_integrated`) / samples trained; `achieved_gflops_per_s` = the
model's training FLOPs per sample (results/flops.json, one count for both frameworks:
edgebench/models/flops.py) x samples per second. `peak_gflops_per_s` is the host's float32 GEMM
rate on the configuration's cores (results/peak/<hwcfg>.json: edgebench/train/peak.py) and
`peak_fraction` the share of it reached. Where a figure cannot be had, `efficiency_note` says why.
"""

import math

import pandas as pd

from edgebench.analysis.stats import mean_std_ci

EFFICIENCY_COLUMNS = ["train_samples_per_s", "joules_per_sample", "training_flops_per_sample",
                      "achieved_gflops_per_s", "peak_gflops_per_s", "peak_fraction", "efficiency_note"]


def samples_trained(summary: dict, epochs: pd.DataFrame) -> float | None:
    """Return the samples a run trained on (per-epoch count x epochs), or None where run.json lacks it."""
    per_epoch = (summary.get("samples_per_epoch") or {}).get("train")
    return None if per_epoch is None else float(per_epoch) * len(epochs)


def run_efficiency(summary: dict, epochs: pd.DataFrame) -> dict:
    """Return one finished run's training samples per second and joules per training sample."""
    samples = samples_trained(summary, epochs)
    seconds = float(epochs["train_seconds"].sum()) if "train_seconds" in epochs.columns else math.nan
    records = (summary.get("energy") or {}).get("epochs") or []
    energies = [r.get("train_energy_wh_integrated") for r in records]
    joules = (sum(energies) * 3600.0 if records and len(records) == len(epochs) and None not in energies
              else None)
    return {"train_samples_per_s": samples / seconds if samples and seconds > 0 else None,
            "joules_per_sample": joules / samples if joules is not None and samples else None}


def _mean(values) -> float:
    present = [v for v in values if v is not None]
    return mean_std_ci(present)[0] if present and len(present) == len(values) else math.nan


def cell_efficiency(runs: list[tuple[dict, pd.DataFrame]], flops: dict | None, peak: dict | None) -> dict:
    """Return a table cell's efficiency columns from its finished runs, the FLOP counts and the peak."""
    row = dict.fromkeys(EFFICIENCY_COLUMNS, math.nan)
    notes = []
    if not runs:
        return {**row, "efficiency_note": None}
    per_run = [run_efficiency(s, e) for s, e in runs]
    row["train_samples_per_s"] = _mean([r["train_samples_per_s"] for r in per_run])
    row["joules_per_sample"] = _mean([r["joules_per_sample"] for r in per_run])
    summary = runs[0][0]
    key = f"{summary['model']}@{summary.get('input_size')}"
    count = ((flops or {}).get("models") or {}).get(key)
    if count is None:
        notes.append(f"no FLOP count for {key}: {(flops or {}).get('reason') or 'not in results/flops.json'}")
    else:
        row["training_flops_per_sample"] = count["training_flops_per_sample"]
        row["achieved_gflops_per_s"] = count["training_flops_per_sample"] * row["train_samples_per_s"] / 1e9
    if not peak or peak.get("gflops_per_s") is None:
        notes.append(f"no peak for this configuration: {(peak or {}).get('reason') or 'not measured'}")
    else:
        row["peak_gflops_per_s"] = peak["gflops_per_s"]
        hosts = {(s.get("provenance") or {}).get("hostname") for s, _ in runs} - {None}
        if hosts and hosts != {peak.get("host")}:
            # Another board's peak says nothing about this one's.
            notes.append(f"the peak was measured on {peak.get('host')}, the runs on {', '.join(sorted(hosts))}")
        else:
            row["peak_fraction"] = row["achieved_gflops_per_s"] / peak["gflops_per_s"]
    row["efficiency_note"] = "; ".join(notes) or None
    return row
