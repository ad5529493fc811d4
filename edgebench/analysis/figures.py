"""Figures with plotnine: per-run hardware traces (thesis Annex 2) and per-configuration summaries."""

from pathlib import Path

import pandas as pd
from plotnine import (aes, annotate, element_text, facet_wrap, geom_col, geom_errorbar, geom_line, geom_vline,
                      ggplot, labs, position_dodge, theme, theme_bw, theme_void)

PANELS = {"cpu": "CPU load (%)", "memory": "Memory (MB)", "power": "Power (W)"}


def trace_long(hw: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    """Return hw.csv samples in long form: seconds since start, panel, series, value."""
    seconds = (pd.to_datetime(hw["timestamp"], format="ISO8601", utc=True) - start).dt.total_seconds()
    parts = []
    for column in hw.columns:
        if column.endswith("_load_pct") and column.startswith("cpu"):
            panel, series, scale = "cpu", column.removesuffix("_load_pct"), 1.0
        elif column in ("ram_used_mb", "swap_used_mb") or column.startswith("gpu_mem"):
            panel, series, scale = "memory", column.removesuffix("_mb"), 1.0
        elif column.startswith("power_") and column.endswith("_mw") and not column.endswith("_avg_mw"):
            panel, series, scale = "power", column.removeprefix("power_").removesuffix("_mw"), 1e-3
        else:
            continue
        parts.append(pd.DataFrame({"seconds": seconds, "panel": PANELS[panel], "series": series,
                                   "value": pd.to_numeric(hw[column], errors="coerce") * scale}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["seconds", "panel", "series", "value"])


def run_traces(hw_csv, epochs_csv, title: str | None = None):
    """Return the per-run panel: CPU load per core, memory and power over time, epoch ends marked."""
    hw, epochs = pd.read_csv(hw_csv), pd.read_csv(epochs_csv)
    title = title or Path(hw_csv).parent.as_posix().removeprefix("results/runs/")
    if hw.empty:
        return message_figure(f"{title}: no monitor samples")
    # A run that failed before its first epoch still has a trace, just no epoch marks.
    first = epochs["started_at"].iloc[0] if len(epochs) else hw["timestamp"].iloc[0]
    start = pd.to_datetime(first, format="ISO8601", utc=True)
    ends = (pd.to_datetime(epochs["ended_at"], format="ISO8601", utc=True) - start).dt.total_seconds()
    data = trace_long(hw, start)
    return (
        ggplot(data, aes("seconds", "value", color="series"))
        + geom_line()
        + geom_vline(xintercept=list(ends), linetype="dashed", color="grey")
        + facet_wrap("panel", ncol=1, scales="free_y")
        + labs(x="seconds since training start (dashed: end of each epoch)", y="", color="", title=title)
        + theme_bw()
        + theme(figure_size=(8, 7))
    )


SUMMARY_METRICS = {
    "total_time_s": ("Total time (s)", "total_time_s_std"),
    "epoch_time_s": ("Time per epoch (s)", "epoch_time_s_std"),
    "val_acc": ("Validation accuracy", "val_acc_std"),
    "top5_acc": ("Validation top-5 accuracy", None),
    "avg_power_w": ("Average power (W)", "avg_power_w_std"),
    "energy_wh": ("Energy (Wh)", None),
}


def config_summary(table_csv, hwcfg: str):
    """Return bars of time, accuracy, power and energy per model and framework, with std error bars."""
    table = pd.read_csv(table_csv)
    rows = []
    for metric, (label, std_column) in SUMMARY_METRICS.items():
        if table[metric].notna().any():
            std = table[std_column] if std_column else 0.0
            rows.append(pd.DataFrame({"model": table["model"], "framework": table["framework"], "metric": label,
                                      "value": table[metric], "std": pd.Series(std, index=table.index).fillna(0.0)}))
    if not rows:
        return message_figure(f"{hwcfg}: no finished runs (status: {', '.join(sorted(set(table['status'])))})")
    data = pd.concat(rows, ignore_index=True)
    data["model"] = pd.Categorical(data["model"], categories=list(dict.fromkeys(table["model"])))
    dodge = position_dodge(width=0.9)
    return (
        ggplot(data, aes("model", "value", fill="framework"))
        + geom_col(position=dodge)
        + geom_errorbar(aes(ymin="value - std", ymax="value + std"), position=dodge, width=0.3)
        + facet_wrap("metric", scales="free_y", ncol=2)
        + labs(x="", y="", title=f"{hwcfg}: per model and framework (error bars: std)")
        + theme_bw()
        + theme(figure_size=(9, 8), axis_text_x=element_text(rotation=30, ha="right"))
    )


def message_figure(text: str):
    """Return an empty figure that says why there is nothing to plot."""
    return ggplot() + annotate("text", x=0, y=0, label=text) + theme_void() + theme(figure_size=(8, 2))


def save(plot, png, pdf=None) -> None:
    """Save a plot as PNG (and PDF)."""
    plot.save(png, dpi=120, verbose=False)
    if pdf:
        plot.save(pdf, verbose=False)
