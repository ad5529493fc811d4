"""`edgebench meter-check`: the wall meter against the board's own power source, at idle and two loads.

MLPerf Power checks its analyser against a known load before it trusts it; here the question is
what the two sources measure apart. The module's sensors (the direct rails, tegrastats or RAPL/
NVML) see the module; the wall meter sees the whole board from the socket: carrier board, fan,
USB devices and the power supply's losses besides. Measured at idle, with half the cores busy
and with all of them busy, the difference (wall - module) per phase is the carrier-board offset,
and a line through the three points (wall = slope x module + intercept) says whether it is a
constant (slope ~1) or grows with the load (supply losses). Run it on the board, with the same
config as the runs. Board side: Python 3.8+ (the config is read with the workflow's tools where
present, else as plain YAML).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

BUSY = "while True:\n    pass\n"
MIN_SPREAD_W = 0.01  # module powers closer than this (the sensors' resolution) give no slope


def _busy(cores: List[int]) -> List[subprocess.Popen]:
    """Start one busy loop pinned to each core: a load anyone can reproduce, nothing but CPU."""
    loops = []
    for core in cores:
        loop = subprocess.Popen([sys.executable, "-c", BUSY])
        try:
            os.sched_setaffinity(loop.pid, {core})
        except OSError:
            pass  # a core this process may not use: the loop runs where the kernel puts it
        loops.append(loop)
    return loops


def _stop(loops: List[subprocess.Popen]) -> None:
    for loop in loops:
        loop.kill()
    for loop in loops:
        loop.wait()


def phases(cores: List[int]) -> list:
    """Return the phases measured: (name, the cores kept busy)."""
    half = cores[: max(1, len(cores) // 2)]
    return [("idle", []), (f"{len(half)} of {len(cores)} cores busy", half), (f"all {len(cores)} cores busy", cores)]


def _mean_w(hw, column: str, start: str, end: str) -> Optional[float]:
    import pandas as pd

    if column not in hw.columns:
        return None
    times = pd.to_datetime(hw["timestamp"], format="ISO8601", utc=True)
    inside = (times >= pd.Timestamp(start)) & (times <= pd.Timestamp(end))
    values = pd.to_numeric(hw.loc[inside, column], errors="coerce").dropna()
    return float(values.mean()) / 1000.0 if len(values) else None


def fit_line(points: list) -> Optional[dict]:
    """Return the least-squares line wall = slope x module + intercept through (module, wall) points."""
    points = [(m, w) for m, w in points if m is not None and w is not None]
    if len(points) < 2:
        return None
    n = len(points)
    mean_m = sum(m for m, _ in points) / n
    mean_w = sum(w for _, w in points) / n
    if max(m for m, _ in points) - min(m for m, _ in points) < MIN_SPREAD_W:
        return None  # the module's power did not move: no slope to tell
    spread = sum((m - mean_m) ** 2 for m, _ in points)
    slope = sum((m - mean_m) * (w - mean_w) for m, w in points) / spread
    return {"slope": slope, "intercept_w": mean_w - slope * mean_m}


def measure(board: dict, monitor: dict, workdir: Path, *, seconds: float, settle_s: float = 1.0,
            cores: Optional[List[int]] = None) -> dict:
    """Return the meter check: per phase the module's and the wall's mean power and their difference."""
    from edgebench.monitor import check_monitor, open_monitor, read_monitor
    from edgebench.timestamps import utc_now

    plan = check_monitor(board, monitor)  # MonitorRefused: a meter that does not answer, before any load
    if "wall" not in plan.names:
        raise ValueError("monitor.external.type: not set: there is no wall meter to check")
    cores = sorted(os.sched_getaffinity(0)) if cores is None else cores
    log_path = workdir / "hw.log"
    windows = []
    with open_monitor(board, log_path, monitor):
        for name, busy in phases(cores):
            loops = _busy(busy)
            try:
                time.sleep(settle_s)  # the load reaches the supply, and the plug's own averaging, first
                start = utc_now()
                time.sleep(seconds)
                windows.append((name, busy, start, utc_now()))
            finally:
                _stop(loops)
    trace = read_monitor(board, log_path, monitor)
    rows = []
    for name, busy, start, end in windows:
        module = _mean_w(trace.hw, "power_total_mw", start, end)
        wall = _mean_w(trace.hw, "power_wall_mw", start, end)
        rows.append({"phase": name, "busy_cores": busy, "start": start, "end": end, "module_w": module, "wall_w": wall,
                     "offset_w": None if module is None or wall is None else wall - module})
    offsets = [row["offset_w"] for row in rows if row["offset_w"] is not None]
    return {"module_source": trace.power_source, "module_power_total": trace.hw.attrs.get("power_total"),
            "phases": rows, "offset_w": sum(offsets) / len(offsets) if offsets else None,
            "fit": fit_line([(row["module_w"], row["wall_w"]) for row in rows]),
            "reason": None if offsets else ("the board has no module power source here (no rails, tegrastats "
                                            "rails, RAPL or NVML): only the wall was measured"),
            "wall_lost_readings": (trace.sources.get("wall") or {}).get("lost_readings")}


def report(result: dict) -> str:
    """Return the check as text: one line per phase, then the offset and the line through the phases."""
    def w(value):
        return "   n/a" if value is None else f"{value:6.2f}"

    lines = [f"module power from: {result['module_source'] or 'none'}; wall meter lost "
             f"{result['wall_lost_readings'] or 0} reading(s)", "",
             f"{'phase':<24} {'module W':>8} {'wall W':>8} {'offset W':>8}"]
    for row in result["phases"]:
        lines.append(f"{row['phase']:<24} {w(row['module_w']):>8} {w(row['wall_w']):>8} {w(row['offset_w']):>8}")
    lines.append("")
    if result["offset_w"] is None:
        lines.append(f"carrier-board offset: unknown ({result['reason']})")
    else:
        lines.append(f"carrier-board offset (wall - module, mean over the phases): {result['offset_w']:.2f} W")
    if result["fit"]:
        lines.append(f"wall = {result['fit']['slope']:.3f} x module + {result['fit']['intercept_w']:.2f} W "
                     "(slope above 1: losses that grow with the load, e.g. the supply's)")
    return "\n".join(lines)


def cli(argv) -> int:
    """Run the check; 0 when it measured, 2 when the config or the meter cannot be used."""
    from edgebench import workflow_config
    from edgebench.hwconfig import load_board
    from edgebench.monitor import MonitorRefused

    parser = argparse.ArgumentParser(prog="edgebench meter-check", description=__doc__.splitlines()[0])
    workflow_config.add_arguments(parser)
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds measured per phase (default %(default)s)")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds before each phase is measured (default %(default)s)")
    parser.add_argument("--keep", type=Path, help="keep the sources' raw logs in this directory")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    config = workflow_config.from_arguments(args)  # the same merge and defaults as the workflow's
    try:
        board = load_board(config["board"])
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            result = measure(board, config["monitor"], args.keep, seconds=args.seconds, settle_s=args.settle)
        else:
            with tempfile.TemporaryDirectory(prefix="meter-check-") as work:
                result = measure(board, config["monitor"], Path(work), seconds=args.seconds, settle_s=args.settle)
    except (MonitorRefused, ValueError, FileNotFoundError) as error:
        print(f"meter-check: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=str) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
