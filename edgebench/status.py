"""`edgebench status`: what a target still needs, and how long it will take.

For every run a table needs: done / failed (why) / partial (epochs done) / not started, and
an estimate of the time left from measured epoch times: the same model and configuration
first (finished runs, or the checkpoint of a partial run); else the same model on another
configuration, scaled by how the two configurations compare on models measured on both; else,
with --calibrate, a few timed training steps on the configuration's cores.
"""

import argparse
import json
import math
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from edgebench import paths, workflow_config
from edgebench.interpreters import board_environment, interpreter_path
from edgebench.train.checkpoint import load_checkpoint


@dataclass
class RunStatus:
    """One run's state and its remaining-time estimate."""

    framework: str
    model: str
    hwcfg: str
    rep: int
    state: str  # done | outdated | failed | partial | not started | refused (the host cannot run it)
    epochs_done: int
    epochs: int
    epoch_times: list[float]
    detail: str = ""
    remaining_s: float | None = None
    basis: str = ""


def run_status(config: dict, workdir: Path, framework: str, model: str, hwcfg: str, rep: int) -> RunStatus:
    """Return the state of one run from its outputs and its state directory."""
    keys = dict(framework=framework, model=model, hwcfg=hwcfg, rep=rep)
    epochs = int(config["training"]["epochs"])
    run_json = workdir / paths.run_dir(**keys) / paths.RUN_FILES["run_json"]
    if run_json.exists():
        summary = json.loads(run_json.read_text())
        epochs_csv = run_json.with_name(paths.RUN_FILES["epochs"])
        times = list(pd.read_csv(epochs_csv)["epoch_seconds"]) if epochs_csv.exists() else []
        if summary.get("status") == "done":
            outdated = summary.get("training", {}).get("epochs") != epochs
            detail = "config changed since: Snakemake will rerun it" if outdated else ""
            state = "outdated" if outdated else "done"
            return RunStatus(**keys, state=state, epochs_done=len(times), epochs=epochs, epoch_times=times, detail=detail)
        state = "refused" if summary.get("status") == "refused" else "failed"
        return RunStatus(**keys, state=state, epochs_done=len(times), epochs=epochs, epoch_times=times,
                         detail=summary.get("reason") or "")
    checkpoint = load_checkpoint(workdir / paths.state_dir(**keys))
    if checkpoint:
        times = [row["epoch_seconds"] for row in checkpoint["epochs"]]
        return RunStatus(**keys, state="partial", epochs_done=len(times), epochs=epochs, epoch_times=times)
    return RunStatus(**keys, state="not started", epochs_done=0, epochs=epochs, epoch_times=[])


def config_ratio(statuses: list[RunStatus], target: str, source: str) -> float | None:
    """Return the median epoch-time ratio target/source over (framework, model)s measured on both."""
    def means(cfg):
        return {(s.framework, s.model): sum(s.epoch_times) / len(s.epoch_times)
                for s in statuses if s.hwcfg == cfg and s.epoch_times}

    on_target, on_source = means(target), means(source)
    ratios = sorted(on_target[k] / on_source[k] for k in on_target.keys() & on_source.keys())
    return ratios[len(ratios) // 2] if ratios else None


def estimate(statuses: list[RunStatus], calibrate=None) -> None:
    """Fill remaining_s and basis of every unfinished run (in place)."""
    measured = [s for s in statuses if s.epoch_times]
    for s in statuses:
        left = s.epochs - s.epochs_done
        if s.state in ("done", "failed", "refused"):
            s.remaining_s, s.basis = 0.0, ""
            continue
        if s.state == "outdated":
            left = s.epochs  # Snakemake reruns it from the start
        same = [t for m in measured if (m.framework, m.model, m.hwcfg) == (s.framework, s.model, s.hwcfg)
                for t in m.epoch_times]
        if same:
            s.remaining_s, s.basis = left * sum(same) / len(same), "measured, same model and configuration"
            continue
        for other in measured:
            if (other.framework, other.model) != (s.framework, s.model):
                continue
            ratio = config_ratio(statuses, s.hwcfg, other.hwcfg)
            if ratio is not None:
                per_epoch = sum(other.epoch_times) / len(other.epoch_times) * ratio
                s.remaining_s, s.basis = left * per_epoch, f"scaled from {other.hwcfg} (x{ratio:.2f})"
                break
        if s.remaining_s is None and calibrate is not None:
            per_epoch = calibrate(s)
            s.remaining_s, s.basis = left * per_epoch, "calibrated: a few timed steps"
        if s.remaining_s is None:
            s.basis = "no measurement yet (--calibrate times a few steps)"


def calibrate_epoch_seconds(config: dict, workdir: Path, status: RunStatus, steps: int = 3) -> float:
    """Return seconds per epoch extrapolated from a few timed train steps, in a child pinned to the config."""
    size = workflow_config.input_size(config, status.model)
    subset = config["dataset"]["subset"]
    classes = subset["classes"]
    n_classes = 10 if classes == "thesis10" else (classes if isinstance(classes, int) else len(classes))
    train_labels = workdir / paths.PREPARED["train_y"].format(size=size)
    train_images = len(__import__("numpy").load(train_labels, mmap_mode="r")) \
        if train_labels.exists() else n_classes * subset["train_per_class"]
    val_images = n_classes * subset["val_per_class"]
    batch = int(config["training"]["batch_size"])
    command = [interpreter_path(config, status.framework), "-m", "edgebench.train.calibrate", "--framework", status.framework, "--model",
               status.model, "--size", str(size), "--classes", str(n_classes), "--batch", str(batch),
               "--steps", str(steps), "--hwconfig", json.dumps(config["hwconfigs"][status.hwcfg]),
               "--hwcfg-name", status.hwcfg, "--board", str(config["board"])]
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=board_environment()).stdout
    seconds_per_batch = float(out.strip().splitlines()[-1])
    # Validation batches cost roughly a third of a training step (forward only).
    return seconds_per_batch * (math.ceil(train_images / batch) + math.ceil(val_images / batch) / 3)


def target_hwcfgs(config: dict, targets: list[str]) -> list[str]:
    """Return the hardware configurations that the targets (tables or config names) need."""
    if not targets:
        return list(config["run_hwconfigs"])
    names = [Path(t).stem if t.endswith(".csv") else t for t in targets]
    unknown = [n for n in names if n not in config["hwconfigs"]]
    if unknown:
        raise SystemExit(f"edgebench status: unknown target(s) {unknown}; configurations: {', '.join(config['hwconfigs'])}")
    return names


def collect(config: dict, workdir: Path, hwcfgs: list[str]) -> list[RunStatus]:
    """Return the status of every run the configurations need, in workflow order."""
    statuses = []
    for hwcfg in hwcfgs:
        refusal = None
        try:
            if config["host_checks"] == "here":  # else each node decides for itself (a cluster)
                workflow_config.runnable_config(config, hwcfg)
        except ValueError as error:  # HardwareConfigError, InterpreterError: the workflow will refuse these runs
            refusal = str(error)
        for fw in config["frameworks"]:
            for model in config["models"]:
                for rep in range(config["repetitions"]):
                    status = run_status(config, workdir, fw, model, hwcfg, rep)
                    if refusal and status.state not in ("done", "failed", "refused"):
                        status.state, status.detail, status.remaining_s = "refused", refusal, 0.0
                    statuses.append(status)
    return statuses


def format_duration(seconds: float | None) -> str:
    """Return seconds as d/h/m/s, '?' when unknown."""
    if seconds is None:
        return "?"
    return str(timedelta(seconds=round(seconds)))


def report(statuses: list[RunStatus], now: datetime) -> str:
    """Return the status table with totals and a finish estimate."""
    rows = [{"run": f"{s.framework}/{s.model}/{s.hwcfg}/rep{s.rep}", "state": s.state,
             "epochs": f"{s.epochs_done}/{s.epochs}", "left": format_duration(s.remaining_s),
             "basis / reason": s.detail or s.basis} for s in statuses]
    table = pd.DataFrame(rows).to_string(index=False)
    counts = pd.Series([s.state for s in statuses]).value_counts().to_dict()
    known = [s.remaining_s for s in statuses if s.remaining_s is not None]
    unknown = sum(s.remaining_s is None for s in statuses)
    total = sum(known)
    lines = [table, "", "runs: " + ", ".join(f"{n} {state}" for state, n in counts.items()),
             f"time left: {format_duration(total)}" + (f" + {unknown} run(s) without an estimate" if unknown else "")]
    if not unknown:
        lines.append(f"finish: {(now + timedelta(seconds=total)).isoformat(timespec='minutes')} (if started now)")
    return "\n".join(lines)


def cli(argv) -> int:
    """Return 0 after printing the status of the runs a target needs."""
    parser = argparse.ArgumentParser(prog="edgebench status", description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="results/tables/<hwcfg>.csv or <hwcfg> (default: run_hwconfigs)")
    workflow_config.add_arguments(parser)
    parser.add_argument("--calibrate", action="store_true", help="time a few steps for runs with no measurement")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    config = workflow_config.from_arguments(args)
    from edgebench.hwconfig.recovery import recover_killed_runs

    for line in recover_killed_runs(args.directory / paths.HOST_STATE_DIR):
        print(line, file=sys.stderr)
    statuses = collect(config, args.directory, target_hwcfgs(config, args.targets))
    calibrate = (lambda s: calibrate_epoch_seconds(config, args.directory, s)) if args.calibrate else None
    estimate(statuses, calibrate)
    if args.json:
        print(json.dumps([s.__dict__ for s in statuses], indent=2))
    else:
        print(report(statuses, datetime.now(timezone.utc)))
    return 0
