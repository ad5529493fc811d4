"""A run's power and energy over its training epochs only (restarts and downtime excluded)."""

from __future__ import annotations

import pandas as pd

from edgebench.monitor.energy import POWER_COLUMN, energy_summary, energy_wh
from edgebench.train.windows import training_samples


def summarise(hw: pd.DataFrame, epochs: pd.DataFrame, total_time_s: float, *, idle_power_w=None,
              interval_s=None) -> dict:
    """Return run.json's energy block: mean power, both energies, power std, coverage, method; or None + reason.

    interval_s, the monitor's sampling interval, lets holes in the trace count as not covered.
    """
    empty = {"avg_power_w": None, "power_std_w": None, "energy_wh": None, "energy_wh_integrated": None,
             "idle_power_w": idle_power_w, "dynamic_energy_wh_integrated": None}
    if epochs.empty:
        return {**empty, "reason": "no finished epoch"}
    if POWER_COLUMN not in hw.columns:
        return {**empty, "reason": "no power source on this host (no tegrastats rails, RAPL or NVML power)"}
    windows, measured, figures = over_epochs(hw, epochs, POWER_COLUMN, total_time_s, idle_power_w=idle_power_w,
                                             interval_s=interval_s)
    if not measured:
        return {**empty, "reason": f"no epoch has usable power samples: {windows[0]['reason']}"}
    dynamic = None
    if idle_power_w is not None:
        dynamic = sum(w["dynamic_energy_wh_integrated"] for w in measured)
    return {
        "epochs": per_epoch(hw, epochs, windows, idle_power_w=idle_power_w, interval_s=interval_s),
        **figures,
        "idle_power_w": idle_power_w,
        "dynamic_energy_wh_integrated": dynamic,
        # counter (energy counters differenced) or trapezoid (power integrated), see monitor/energy.py
        "method": "+".join(sorted({w["method"] for w in measured})),
        "reason": None,
    }


def over_epochs(hw: pd.DataFrame, epochs: pd.DataFrame, column: str, total_time_s: float, *, idle_power_w=None,
                interval_s=None) -> tuple:
    """Return (each epoch's window, those with an energy, the figures) of one power column over the epochs.

    The figures, the same for the module's power and the wall meter's: `avg_power_w` and
    `power_std_w` of the readings taken while training (the thesis's average power: their plain
    mean), `energy_wh` that mean x training time, `energy_wh_integrated` the sum of the epochs'
    energies, `coverage` their covered share of the training time, `samples` the readings.
    """
    # Each epoch is integrated on its own, so the gaps of a resumed run never count as training.
    windows = [energy_summary(hw, row.started_at, row.ended_at, idle_power_w=idle_power_w, interval_s=interval_s,
                              column=column)
               for row in epochs.itertuples()]
    measured = [w for w in windows if w["energy_wh_integrated"] is not None]
    # An epoch the trace missed altogether counts as training time not covered, so the energy
    # of the others is kept and its coverage says how much of the training it is.
    readings_w = pd.to_numeric(training_samples(hw, epochs)[column], errors="coerce").dropna() / 1000.0
    avg_power_w = float(readings_w.mean()) if len(readings_w) else None
    figures = {
        "avg_power_w": avg_power_w,
        "power_std_w": float(readings_w.std(ddof=1)) if len(readings_w) > 1 else None,
        "energy_wh": energy_wh(avg_power_w, total_time_s),
        "energy_wh_integrated": sum(w["energy_wh_integrated"] for w in measured),
        "coverage": sum(w["covered_s"] for w in measured) / sum(w["window_s"] for w in windows),
        "samples": int(len(readings_w)),
    }
    return windows, measured, figures


def per_epoch(hw: pd.DataFrame, epochs: pd.DataFrame, windows: list, *, idle_power_w=None, interval_s=None) -> list:
    """Return each epoch's energy record: what time and energy to a target accuracy add up.

    `power_sum_w` and `readings` let the thesis's method (mean reading x time) be taken over
    any first k epochs; `train_energy_wh_integrated` covers the training pass alone (the epoch's
    start to train_seconds later), for the energy per training sample.
    """
    records = []
    for position, (row, window) in enumerate(zip(epochs.itertuples(), windows)):
        readings = pd.to_numeric(training_samples(hw, epochs.iloc[[position]])[POWER_COLUMN],
                                 errors="coerce").dropna() / 1000.0
        record = {"epoch": int(getattr(row, "epoch", position)), "energy_wh_integrated": window["energy_wh_integrated"],
                  "coverage": window["coverage"], "power_sum_w": float(readings.sum()), "readings": int(len(readings)),
                  "train_energy_wh_integrated": None}
        if getattr(row, "train_seconds", None) and row.train_seconds > 0:
            train_end = pd.Timestamp(row.started_at) + pd.Timedelta(seconds=float(row.train_seconds))
            record["train_energy_wh_integrated"] = energy_summary(
                hw, row.started_at, train_end, idle_power_w=idle_power_w, interval_s=interval_s)["energy_wh_integrated"]
        records.append(record)
    return records


def wall_summary(hw: pd.DataFrame, epochs: pd.DataFrame, total_time_s: float, *, interval_s=None,
                 lost=()) -> dict:
    """Return run.json's energy.wall block: the wall meter's mean power and energy over the epochs.

    The same figures as the module's (over_epochs). lost: (timestamp, count, reason) of the
    readings that failed (monitor/wall.py); those inside an epoch are counted, never filled in.
    """
    from edgebench.monitor.wall import COLUMN

    block = {"avg_power_w": None, "power_std_w": None, "energy_wh": None, "energy_wh_integrated": None,
             "coverage": None, "samples": 0, "lost_readings": sum(n for _, n, _ in lost),
             "lost_in_training": _lost_in_training(lost, epochs), "reason": None}
    if epochs.empty:
        return {**block, "reason": "no finished epoch"}
    if COLUMN not in hw.columns:
        return {**block, "reason": "the wall meter gave no reading"}
    windows, measured, figures = over_epochs(hw, epochs, COLUMN, total_time_s, interval_s=interval_s)
    if not measured or not figures["samples"]:
        return {**block, "reason": f"no epoch has wall readings: {windows[0]['reason']}"}
    return {**block, **figures}


def _lost_in_training(lost, epochs: pd.DataFrame) -> int:
    """Return how many of the lost readings fell inside an epoch's window."""
    if epochs.empty or not lost:
        return 0
    times = pd.to_datetime(pd.Series([t for t, _, _ in lost]), format="ISO8601", utc=True, errors="coerce")
    counts = pd.Series([n for _, n, _ in lost])
    inside = pd.Series(False, index=times.index)
    for row in epochs.itertuples():
        inside |= (times >= pd.Timestamp(row.started_at)) & (times <= pd.Timestamp(row.ended_at))
    return int(counts[inside].sum())


def compared_sources(hw: pd.DataFrame, epochs: pd.DataFrame, power_source: str, other_column: str) -> dict:
    """Return run.json's energy.compared: the power source's mean total power over the epochs against another's.

    Both means are the plain means of each source's readings inside the epochs (the thesis's
    avg_power), so that the difference says how far the two sources disagree on the same training.
    """
    samples = training_samples(hw, epochs)
    means = {}
    for column in (POWER_COLUMN, other_column):
        readings = pd.to_numeric(samples[column], errors="coerce").dropna() if column in samples.columns else []
        means[column] = float(readings.mean()) / 1000.0 if len(readings) else None
    other = other_column[: -len("_power_total_mw")]
    ours, theirs = means[POWER_COLUMN], means[other_column]
    difference = None if ours is None or theirs is None else ours - theirs
    return {"source": power_source, "other": other, "avg_power_w": ours, "other_avg_power_w": theirs,
            "difference_w": difference,
            "difference_pct": None if difference is None or not theirs else 100.0 * difference / theirs}
