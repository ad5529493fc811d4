"""`edgebench check`: what this board is, and which configured runs it can do (and why not).

Run it on the board that will train. For each hardware configuration x framework it says
runnable or refused with the reason: a core the board lacks, no GPU, an interpreter that is
missing or cannot import its framework, a framework without CUDA here. These are the same
checks the workflow makes before training (locally when the DAG is built; on a cluster, each
run on its node), so what it calls runnable is what will run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys

from edgebench import paths, workflow_config
from edgebench.hwconfig import check_host
from edgebench.interpreters import describe, interpreter_path, interpreter_problem, probe_frameworks


def board_description() -> dict:
    """Return what this board is: model, L4T release, nvpmodel mode, the power sensors found."""
    from edgebench.hwconfig.provenance import collect_provenance
    from edgebench.monitor.nvml import NvmlReader
    from edgebench.monitor.rapl import RaplReader

    found = collect_provenance()
    from edgebench.monitor.rails import find_channels

    sensors = {"tegrastats": shutil.which("tegrastats") or "not found"}
    channels, rails = find_channels("/")
    sensors["ina_rails"] = (f"{len(channels)} ({', '.join(rails['rails'])})" if channels
                            else "; ".join(rails["notes"]) or "none")
    for name, reader in (("rapl", RaplReader()), ("nvml", NvmlReader())):
        sensors[name] = "available" if reader.available() else reader.unavailable_reason
    return {"device_model": found["device_model"], "machine": found["machine"], "kernel": found["kernel"],
            "l4t_release": found["l4t_release"], "nvpmodel": (found["nvpmodel"] or {}).get("name"),
            "cpu_governors": sorted(set(found["cpu_governors"].values())), "online_cores": found["online_cores"],
            "power_sensors": sensors}


def verdicts(config: dict) -> list:
    """Return [{hwcfg, framework, runnable, reason}] for every configured hardware configuration x framework."""
    answers = probe_frameworks(config)
    rows = []
    for name in config["hwconfigs"]:
        try:
            cfg = workflow_config.hardware_config(config, name)
            check_host(cfg)
            host_problem = None
        except ValueError as error:
            cfg, host_problem = None, str(error)
        for framework in config["frameworks"]:
            answer = answers[framework]
            reason = host_problem or interpreter_problem(framework, answer)
            if reason is None and cfg.gpu and not answer["gpu"]:
                reason = f"hwconfigs.{name}.gpu: {framework} has no CUDA here ({answer['executable']})"
            rows.append({"hwcfg": name, "framework": framework, "runnable": reason is None, "reason": reason,
                         "targeted": name in config["run_hwconfigs"]})
    return rows


def report(board: dict, config: dict, rows: list) -> str:
    """Return the human-readable check."""
    sensors = ", ".join(f"{k}: {v}" for k, v in board["power_sensors"].items())
    lines = [f"board: {board['device_model'] or 'unknown model'} ({board['machine']}, kernel {board['kernel']})",
             f"L4T: {board['l4t_release'] or 'none (not a Jetson)'}; nvpmodel: {board['nvpmodel'] or 'none'}; "
             f"CPU governors: {', '.join(board['cpu_governors']) or 'none'}; online cores: {board['online_cores']}",
             f"power sensors: {sensors}", "", "interpreters:"]
    answers = probe_frameworks(config)
    lines += [f"  {describe(fw, answers[fw])}" for fw in config["frameworks"]]
    lines += ["", "runs:"]
    for row in rows:
        mark = "runnable" if row["runnable"] else f"refused: {row['reason']}"
        lines.append(f"  {row['hwcfg']:<12} {row['framework']:<8} {mark}{'' if row['targeted'] else '  (not in run_hwconfigs)'}")
    return "\n".join(lines)


def cli(argv) -> int:
    """Print the check; return 1 if a configuration in run_hwconfigs cannot run here, else 0."""
    parser = argparse.ArgumentParser(prog="edgebench check", description=__doc__.splitlines()[0])
    workflow_config.add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    config = workflow_config.from_arguments(args)
    from edgebench.hwconfig.recovery import recover_killed_runs

    for line in recover_killed_runs(args.directory / paths.HOST_STATE_DIR):
        print(line, file=sys.stderr)
    board, rows = board_description(), verdicts(config)
    if args.json:
        print(json.dumps({"board": board, "interpreters": {fw: interpreter_path(config, fw) for fw in config["frameworks"]},
                          "runs": rows}, indent=2))
    else:
        print(report(board, config, rows))
    return 0 if all(row["runnable"] for row in rows if row["targeted"]) else 1
