"""The board side's interpreters (config key `interpreters`), as the workflow side sees them.

Each framework trains in its own interpreter: a venv that `make` created (`.venv-pytorch`,
`.venv-mxnet`), or any Python that has the framework (on a Jetson, JetPack's python3 with
NVIDIA's wheel). The workflow side never imports a framework; it asks each interpreter what
it can do (edgebench/train/probe.py) and starts the runner in it with the checkout on
PYTHONPATH, so nothing of edgebench needs installing there.
"""

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path

from edgebench.hwconfig import HardwareConfigError

CHECKOUT = Path(__file__).resolve().parents[1]
# What the board side loads (relative to the checkout): it must run on Python 3.8 to 3.13 with
# only the framework, numpy, pandas, psutil and PyYAML (tests/test_board_python.py checks it).
BOARD_SIDE_SOURCES = ("edgebench/__init__.py", "edgebench/atomic.py", "edgebench/compat.py", "edgebench/logs.py",
                      "edgebench/schema.py", "edgebench/settings.py", "edgebench/paths.py", "edgebench/timestamps.py",
                      "edgebench/workflow_config.py", "edgebench/data/loader.py", "edgebench/hwconfig", "edgebench/models", "edgebench/monitor",
                      "edgebench/train")


class InterpreterError(HardwareConfigError):
    """A configured interpreter that is missing or cannot import its framework."""


def interpreter_path(config: dict, framework: str) -> str:
    """Return the interpreter configured for a framework: a bare name from PATH, a relative path
    from the checkout (where `make` creates the venvs), or an absolute path."""
    value = str(config["interpreters"][framework])
    if os.sep not in value:
        return shutil.which(value) or value
    path = Path(value).expanduser()
    # Not resolved: a venv's python is a symlink, and resolving it would leave the venv.
    return str(path if path.is_absolute() else CHECKOUT / path)


def board_environment(base=None) -> dict:
    """Return the environment for a board-side process: the checkout first on PYTHONPATH."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(CHECKOUT), env.get("PYTHONPATH", "")) if p)
    return env


def missing_reason(framework: str, python: str) -> str:
    """Return why an interpreter path cannot be run, or '' if it can."""
    if not Path(python).exists():
        return f"interpreters.{framework}: {python} does not exist (make setup-{framework} creates it, " \
               f"or set interpreters.{framework} to a Python that has {framework})"
    if not os.access(python, os.X_OK):
        return f"interpreters.{framework}: {python} is not executable"
    return ""


def run_module(config: dict, framework: str, module_args: list, what: str) -> str | None:
    """Run `python -m <module_args>` in a framework's interpreter; return None, or why it could not run.

    For the workflow's board-side helpers (the FLOP count, the GEMM peak): their rules record
    the reason as their result instead of failing, as a refused run does.
    """
    python = interpreter_path(config, framework)
    reason = missing_reason(framework, python)
    if reason:
        return reason
    result = subprocess.run([python, "-m", *map(str, module_args)], env=board_environment(),
                            capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        return f"{what} failed in {python} (exit {result.returncode}): {tail[0]}"
    return None


@functools.lru_cache(maxsize=None)
def probe_all(pairs: tuple) -> dict:
    """Return {framework: probe answer} for ((framework, interpreter), ...), probing concurrently."""
    running, answers = {}, {}
    for framework, python in pairs:
        reason = missing_reason(framework, python)
        if reason:
            answers[framework] = {"imports": False, "error": reason, "missing": True, "executable": python}
            continue
        running[framework] = subprocess.Popen([python, "-m", "edgebench.train.probe", framework],
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                              env=board_environment())
    for framework, process in running.items():
        out, err = process.communicate()
        try:
            answers[framework] = json.loads(out.strip().splitlines()[-1])
        except (IndexError, ValueError):  # the interpreter could not even run the probe (too old a Python...)
            answers[framework] = {"imports": False, "executable": dict(pairs)[framework],
                                  "error": f"the probe failed (exit {process.returncode}): {err.strip()[-500:]}"}
    return answers


def probe_frameworks(config: dict) -> dict:
    """Return {framework: probe answer} for every configured framework (cached per process)."""
    return probe_all(tuple((fw, interpreter_path(config, fw)) for fw in config["frameworks"]))


def interpreter_problem(framework: str, answer: dict):
    """Return why a probed interpreter cannot train its framework, naming `interpreters.<framework>`, or None."""
    if answer.get("missing"):
        return answer["error"]
    if not answer["imports"]:
        return f"interpreters.{framework}: {answer['executable']} cannot import {framework}: {answer['error']}"
    return None


def check_interpreters(config: dict) -> None:
    """Raise InterpreterError naming `interpreters.<framework>` if one is missing or lacks its framework."""
    for framework, answer in probe_frameworks(config).items():
        problem = interpreter_problem(framework, answer)
        if problem:
            raise InterpreterError(problem)


def describe(framework: str, answer: dict) -> str:
    """Return one line saying what an interpreter offers for a framework."""
    if not answer["imports"]:
        return f"{framework}: {answer['executable']}: NOT USABLE: {answer['error']}"
    versions = ", ".join(f"{k} {v}" for k, v in answer["versions"].items() if v)
    return (f"{framework}: {answer['executable']}: Python {answer['python']}, numpy {answer['numpy']}, {versions}, "
            f"GPU {'yes' if answer['gpu'] else 'no'}")


def main(argv=None) -> int:
    """`python -m edgebench.interpreters --require FW=PYTHON...`: exit 1 unless every framework imports."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m edgebench.interpreters", description=main.__doc__)
    parser.add_argument("--require", nargs="+", required=True, metavar="FRAMEWORK=PYTHON")
    args = parser.parse_args(argv)
    pairs = tuple(tuple(item.split("=", 1)) for item in args.require)
    answers = probe_all(pairs)
    for framework, _ in pairs:
        print(describe(framework, answers[framework]))
    broken = [fw for fw, _ in pairs if not answers[fw]["imports"]]
    if broken:
        print(f"setup failed: {', '.join(broken)} cannot be imported in its environment (see above)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
