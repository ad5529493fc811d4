"""Figures with plotnine: per-run hardware traces (thesis Annex 2) and per-configuration summaries."""

from pathlib import Path

import pandas as pd
from mizani.breaks import breaks_extended
from plotnine import (aes, annotate, element_text, facet_wrap, geom_col, geom_errorbar, geom_hline,
                      geom_line, geom_point, geom_text, geom_vline, ggplot, labs, position_dodge,
                      scale_x_continuous, theme, theme_bw, theme_void)

PANELS = {"cpu": "CPU load (%)", "memory": "Memory (MB)", "power": "Power (W)"}
LOSS_DISPLAY_CAP = 1e6  # cross-entropy of a sane run stays within ~ln(classes) x a few


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
        part = pd.DataFrame({"seconds": seconds, "panel": PANELS[panel], "series": series,
                             "value": pd.to_numeric(hw[column], errors="coerce") * scale})
        # hw.csv merges several sources' rows (tegrastats, direct rails, a wall meter), each empty
        # in the others' columns: a series joins its own samples, not broken at every other row.
        parts.append(part.dropna(subset=["value"]))
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


TO_TARGET_METRICS = {"time_to_target_s": "time to target (s)", "energy_to_target_wh_integrated": "energy to target (Wh)"}


def to_target(table_csv, hwcfg: str):
    """Return time and energy to the target accuracy per model and framework; "not reached" written where so."""
    table = pd.read_csv(table_csv)
    if table["target"].isna().all():
        return message_figure(f"{hwcfg}: no target accuracy configured (config `targets`)")
    rows = []
    for metric, label in TO_TARGET_METRICS.items():
        missing = table[metric].isna()
        if metric.startswith("energy") and missing.all() and table["time_to_target_s"].notna().any():
            continue  # no power source at all: one panel, not a panel of blanks
        rows.append(pd.DataFrame({
            "model": table["model"], "framework": table["framework"], "metric": label,
            "value": table[metric].fillna(0.0), "low": table[f"{metric}_ci95_low"], "high": table[f"{metric}_ci95_high"],
            # A bar of height 0 would read as "instantly": the reason is printed instead.
            "label": ["" if not gone else ("not reached" if str(status).startswith("not reached") else "n/a")
                      for gone, status in zip(missing, table["target_status"])]}))
    data = pd.concat(rows, ignore_index=True)
    # Bars placed by hand (model index + a framework offset), not dodged: dodging recentres a bar
    # whose neighbour is missing, and its error bar would then land beside it.
    models, frameworks = list(dict.fromkeys(table["model"])), sorted(set(table["framework"]))
    width = 0.8 / len(frameworks)
    data["x"] = [models.index(m) + (frameworks.index(f) - (len(frameworks) - 1) / 2) * width
                 for m, f in zip(data["model"], data["framework"])]
    targets = "; ".join(sorted(set(table["target"].dropna())))
    return (
        ggplot(data, aes("x", "value", fill="framework"))
        + geom_col(width=width)
        + geom_errorbar(aes(ymin="low", ymax="high"), data=data.dropna(subset=["low", "high"]), width=width / 3)
        + geom_text(aes(label="label", y=0), va="bottom", angle=90, size=7)
        + facet_wrap("metric", scales="free_y", ncol=1)
        + scale_x_continuous(breaks=list(range(len(models))), labels=models)
        + labs(x="", y="", title=f"{hwcfg}: time and energy to {targets} (error bars: 95% CI over runs)")
        + theme_bw()
        + theme(figure_size=(9, 7), axis_text_x=element_text(rotation=30, ha="right"))
    )


def whole_number_breaks(limits) -> list:
    """Return axis breaks at whole numbers only (epochs have no quarters)."""
    return [b for b in breaks_extended(n=5)(limits) if float(b).is_integer()]


def learning_curves(epochs_csvs, hwcfg: str):
    """Return validation accuracy and losses per epoch, one line per framework, a panel per model."""
    parts = []
    for path in epochs_csvs:
        path = Path(path)
        epochs = pd.read_csv(path)
        if epochs.empty:
            continue
        # results/runs/<framework>/<model>/<hwcfg>/rep<r>/epochs.csv
        rep, _, model, framework = path.parent.name, path.parents[1].name, path.parents[2].name, path.parents[3].name
        for column, label in (("val_acc", "validation accuracy"), ("train_loss", "training loss"),
                              ("val_loss", "validation loss")):
            parts.append(pd.DataFrame({"epoch": epochs["epoch"], "value": epochs[column], "metric": label,
                                       "model": model, "framework": framework, "run": f"{framework} {rep}"}))
    if not parts:
        return message_figure(f"{hwcfg}: no finished epochs")
    data = pd.concat(parts, ignore_index=True)
    # A loss can blow up (BatchNorm nets evaluated after a few steps on tiny data reach 1e22
    # here) or become NaN. Such values are drawn at a cap, named in the title: plotnine cannot
    # label an axis beyond ~1e19, and one runaway point would flatten the panel anyway.
    is_loss = data["metric"] != "validation accuracy"
    off_chart = is_loss & ~data["value"].between(-LOSS_DISPLAY_CAP, LOSS_DISPLAY_CAP)
    data.loc[off_chart, "value"] = LOSS_DISPLAY_CAP
    title = f"{hwcfg}: learning curves (both frameworks overlaid)"
    if off_chart.any():
        title += f"\nlosses above {LOSS_DISPLAY_CAP:.0e} or not finite drawn at {LOSS_DISPLAY_CAP:.0e}"
    models = list(dict.fromkeys(data["model"]))
    # One panel per (metric, model), each with its own y scale: a single diverging run must not
    # flatten every other curve. Panels run model by model along a row, a row per metric.
    data["panel"] = data["model"] + ": " + data["metric"]
    order = [f"{m}: {metric}" for metric in dict.fromkeys(data["metric"]) for m in models]
    data["panel"] = pd.Categorical(data["panel"], categories=[p for p in order if p in set(data["panel"])])
    return (
        ggplot(data, aes("epoch", "value", color="framework", group="run"))
        + geom_line()
        + geom_point(size=1)
        + facet_wrap("panel", scales="free_y", ncol=len(models))
        + scale_x_continuous(breaks=whole_number_breaks)
        + labs(x="epoch", y="", color="", title=title)
        + theme_bw()
        + theme(figure_size=(max(6, 2.4 * len(models)), 7), strip_text=element_text(size=7))
    )


def framework_comparison(compilation_csv):
    """Return the thesis's Figure 5.19 view: difference % per model and configuration, signed by winner.

    Above the axis the first framework (alphabetically) was better, below it the second.
    """
    compilation = pd.read_csv(compilation_csv).dropna(subset=["difference_pct"])
    compilation = compilation[compilation["best_framework"].isin(["mxnet", "pytorch"])]
    if compilation.empty:
        return message_figure("no model finished in both frameworks: nothing to compare")
    up, down = "mxnet", "pytorch"
    compilation["signed_pct"] = compilation["difference_pct"].where(compilation["best_framework"] == up,
                                                                    -compilation["difference_pct"])
    compilation["model"] = pd.Categorical(compilation["model"], categories=list(dict.fromkeys(compilation["model"])))
    return (
        ggplot(compilation, aes("model", "signed_pct", fill="hwcfg"))
        + geom_col(position=position_dodge(width=0.9))
        + geom_hline(yintercept=0)
        + facet_wrap("feature", ncol=1, scales="free_y")
        + labs(x="", y=f"difference (%): above 0 {up} better, below {down} better", fill="configuration",
               title="Best framework per model and configuration (thesis Figure 5.19 view)")
        + theme_bw()
        + theme(figure_size=(9, 7), axis_text_x=element_text(rotation=30, ha="right"))
    )


def energy_summary(energy_csv):
    """Return energy per model and framework for each configuration (thesis Figure 5.21 view)."""
    energy = pd.read_csv(energy_csv)
    value = "energy_wh_integrated" if energy["energy_wh_integrated"].notna().any() else "energy_wh"
    energy = energy.dropna(subset=[value])
    if energy.empty:
        return message_figure("no energy figures: no power source was recorded (see run.json energy.reason)")
    energy["model"] = pd.Categorical(energy["model"], categories=list(dict.fromkeys(energy["model"])))
    return (
        ggplot(energy, aes("model", value, fill="framework"))
        + geom_col(position=position_dodge(width=0.9))
        + geom_text(aes(label=f"{value}"), format_string="{:.2g}", position=position_dodge(width=0.9),
                    va="bottom", size=7)
        + facet_wrap("hwcfg", scales="free_y")
        + labs(x="", y="energy (Wh)", title=f"Training energy per model ({value})")
        + theme_bw()
        + theme(figure_size=(10, 6), axis_text_x=element_text(rotation=30, ha="right"))
    )


def message_figure(text: str):
    """Return an empty figure that says why there is nothing to plot."""
    return ggplot() + annotate("text", x=0, y=0, label=text) + labs(title=text) + theme_void() + theme(figure_size=(8, 2))


def save(plot, png, pdf=None) -> None:
    """Save a plot as PNG (and PDF)."""
    plot.save(png, dpi=120, verbose=False)
    if pdf:
        plot.save(pdf, verbose=False)
