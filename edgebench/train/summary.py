"""The end of a run: hw.csv, run.json (provenance and summary), and publishing to the outputs.

run.json is the run's one summary: what was trained, on what, by which interpreter, how it
ended (done, failed or refused, with the reason), its times and its energy. It is published
last, so its presence marks the run as complete. Board side: Python 3.8+.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import sys
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

import pandas as pd

from edgebench.atomic import write_csv_atomic, write_text_atomic
from edgebench.hwconfig import apply as hwapply
from edgebench.hwconfig.clocks import read_limits
from edgebench.monitor import extra_logs, read_monitor
from edgebench.settings import as_dict
from edgebench.train import energy as run_energy
from edgebench.train.checkpoint import load_checkpoint
from edgebench.train.spec import OUTPUT_FILES, RunRefused, RunSpec
from edgebench.train.state import EPOCH_COLUMNS, RunState, downtime_s
from edgebench.train.throttle import throttle_report

CHECKOUT = Path(__file__).resolve().parents[2]


def run_header(spec: RunSpec) -> dict:
    """Return what identifies the run in run.json (the experiment, before anything ran)."""
    return {"framework": spec.framework, "model": spec.model, "hwconfig": asdict(spec.hwconfig),
            "rep": spec.rep, "seed": spec.seed, "device_profile": spec.board["name"],
            "input_size": spec.input_size, "training": as_dict(spec.training), "measurement": as_dict(spec.measurement)}


def interpreter() -> dict:
    """Return the interpreter this process runs in (one per framework: see config `interpreters`)."""
    return {"executable": sys.executable, "prefix": sys.prefix, "python": platform.python_version()}


def provenance(spec: RunSpec, backend_cls) -> dict:
    """Return where and with what the run executed."""
    from edgebench.hwconfig.power_mode import in_force
    from edgebench.hwconfig.provenance import collect_provenance

    return {
        **collect_provenance(checkout=CHECKOUT),
        # The power mode this run put the board in, and the one it came from (None: left as it was).
        "power_mode": in_force(),
        "interpreter": interpreter(),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "framework_versions": backend_cls.versions(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "threads_env": {k: os.environ.get(k) for k in hwapply.thread_environment(spec.hwconfig)},
        # The clock ceilings and trip points in force, and warnings (a governor that lets clocks vary).
        "clocks": read_limits(spec.hwconfig.cores, spec.hwconfig.gpu),
    }


def publish(spec: RunSpec, state: RunState) -> None:
    """Copy the finished run's files to the declared outputs, run.json last; drop checkpoints.

    The raw logs of the monitor's other sources (hw.rails.log, hw.wall.log) go beside hw.log
    first: not declared outputs (a run without those sources has none), but the record that
    hw.csv was made from; one left there by an earlier run without the source is removed.
    """
    hw_log = Path(spec.outputs["hw_log"])
    hw_log.parent.mkdir(parents=True, exist_ok=True)
    for source in extra_logs(state.path("hw_log")):
        target = hw_log.with_name(source.name)
        if source.exists():
            tmp = target.with_name(f".{target.name}.tmp")
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        else:
            target.unlink(missing_ok=True)
    for key in OUTPUT_FILES:  # run.json is last in OUTPUT_FILES: it marks the run as complete
        target = Path(spec.outputs[key])
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(state.path(key), tmp)
        os.replace(tmp, target)
    if not spec.measurement.keep_checkpoints:
        shutil.rmtree(state.dir)


def finish(spec: RunSpec, state: RunState, rows: List[dict], attempts: List[dict], summary: dict, *,
           status: str, reason: Optional[str], idle_power_w: Optional[float]) -> dict:
    """Write hw.csv, epochs.csv, train.log and run.json to the state directory, publish, return run.json."""
    state.path("hw_log").touch()  # a run refused before its monitor started still has a (empty) log
    trace = read_monitor(spec.board, state.path("hw_log"), spec.monitor)
    hw, skipped = trace.hw, trace.skipped
    # Without a single sample (refused before the monitor's first), the CSV still has its header.
    write_csv_atomic(hw if len(hw.columns) else pd.DataFrame(columns=["timestamp"]), state.path("hw_csv"))
    state.write_progress(rows)
    epochs = pd.DataFrame(rows, columns=EPOCH_COLUMNS)
    total_time_s = float(epochs["epoch_seconds"].sum())
    summary.update({
        "status": status,
        "reason": reason,
        "epochs_done": len(rows),
        "started_at": rows[0]["started_at"] if rows else None,
        "ended_at": rows[-1]["ended_at"] if rows else None,
        # Training time is the sum of epoch times: set-up, restarts and downtime are not counted.
        "total_time_s": total_time_s,
        "attempts": attempts,
        "restarts": max(len(attempts) - 1, 0),
        "downtime_s": downtime_s(attempts),
        "monitor": {"kind": spec.board.get("monitor", "host"), "samples": len(hw), "skipped_lines": skipped,
                    "interval_s": spec.monitor.interval_s, "power_total": hw.attrs.get("power_total"),
                    "power_source": trace.power_source, "sources": trace.sources},
        "energy": run_energy.summarise(hw, epochs, total_time_s, idle_power_w=idle_power_w,
                                       interval_s=trace.power_interval_s),
    })
    summary["energy"].update(source_comparisons(trace, epochs, total_time_s))
    summary["throttling"] = throttle_report(hw, epochs, summary.get("provenance", {}).get("clocks"),
                                            spec.hwconfig.cores, spec.hwconfig.gpu)
    summary.setdefault("interpreter", interpreter())
    write_text_atomic(state.path("run_json"), json.dumps(summary, indent=2, default=str) + "\n")
    publish(spec, state)
    return summary


def source_comparisons(trace, epochs: pd.DataFrame, total_time_s: float) -> dict:
    """Return the energy block's figures from the monitor's other sources: the wall meter, and the
    primary source's own total where the rails were the power source (run.json energy.wall, .compared)."""
    extra = {}
    wall = trace.sources.get("wall")
    if wall is not None:
        extra["wall"] = run_energy.wall_summary(trace.hw, epochs, total_time_s, interval_s=wall["interval_s"],
                                                lost=trace.wall_lost)
    other = (trace.sources.get("rails") or {}).get("compared_with")
    if trace.power_source == "rails" and other:
        extra["compared"] = run_energy.compared_sources(trace.hw, epochs, "rails", other)
    return extra


def record_refusal(spec: RunSpec, reason: str, *, interpreter_info: Optional[dict] = None) -> dict:
    """Publish a run that cannot happen here as a result (status refused, the reason), and return run.json."""
    state = RunState(spec)
    done = (load_checkpoint(state.dir) or {"epochs": []})["epochs"]
    if done:
        # Epochs already trained elsewhere must not be thrown away by publishing a refusal: the
        # job fails instead, keeping the state for a rerun on a board that can continue it.
        raise RunRefused(f"{reason} (the {len(done)} epoch(s) checkpointed in {state.dir} are kept)")
    state.dir.mkdir(parents=True, exist_ok=True)
    summary = run_header(spec)
    if interpreter_info is not None:
        summary["interpreter"] = interpreter_info
    summary["hostname"] = socket.gethostname()
    return finish(spec, state, [], [], summary, status="refused", reason=reason, idle_power_w=None)
