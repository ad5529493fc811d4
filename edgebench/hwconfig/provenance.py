"""What the run ran on: board, L4T, power mode, CPU state, software versions, code commit."""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
# `# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t186ref, EABI: aarch64, DATE: ...`
L4T_RE = re.compile(r"#\s*R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)")
NVPMODEL_RE = re.compile(r"NV Power Mode:\s*(\S+)\s*\n\s*(\d+)")


def _read(path: Path) -> str | None:
    """Return a small text file's content stripped (device-tree strings end in NUL), or None."""
    try:
        return path.read_bytes().decode("utf-8", "replace").strip().strip("\x00").strip() or None
    except OSError:
        return None


def parse_cpu_list(text: str | None) -> list[int] | None:
    """Return the cores of a kernel CPU list like `0-3,5`, or None."""
    if not text:
        return None
    cores = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        cores.extend(range(int(lo), int(hi or lo) + 1))
    return cores


def l4t_release(root: Path) -> dict:
    """Return {l4t_release: 'R32.7.1', l4t_release_line: raw first line}, None values off a Jetson."""
    text = _read(root / "etc" / "nv_tegra_release")
    if text is None:
        return {"l4t_release": None, "l4t_release_line": None}
    first = text.splitlines()[0]
    m = L4T_RE.search(first)
    return {"l4t_release": f"R{m.group(1)}.{m.group(2)}" if m else None, "l4t_release_line": first}


def nvpmodel_mode(binary: str = "nvpmodel") -> dict | None:
    """Return {'name', 'id', 'output'} from `nvpmodel -q`, or None where there is no nvpmodel."""
    path = shutil.which(binary)
    if path is None:
        return None
    try:
        result = subprocess.run([path, "-q"], capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as error:
        return {"name": None, "id": None, "output": f"nvpmodel -q failed: {error}"}
    m = NVPMODEL_RE.search(result.stdout)
    return {
        "name": m.group(1) if m else None,
        "id": int(m.group(2)) if m else None,
        "output": (result.stdout + result.stderr).strip(),
    }


# `jetson_clocks --show` lines: "cpu0:  Online=1 Governor=schedutil MinFreq=729600 MaxFreq=1728000
# CurrentFreq=1267200 IdleStates: ...", "GPU MinFreq=... MaxFreq=... CurrentFreq=...", "EMC ...".
CLOCK_LINE_RE = re.compile(r"^(cpu\d+:|GPU|EMC)\s+(.*)$")
FIELD_RE = re.compile(r"(\w+)=(\S+)")


def parse_jetson_clocks(text: str) -> dict:
    """Return {'cpus': {cpuN: fields}, 'gpu', 'emc', 'locked'} from `jetson_clocks --show` output.

    `locked` says whether jetson_clocks pinned the clocks: every online core's and the GPU's
    MinFreq equal to its MaxFreq, the state `sudo jetson_clocks` leaves (None: nothing read).
    """
    cpus, units = {}, {}
    for line in text.splitlines():
        m = CLOCK_LINE_RE.match(line.strip())
        if not m:
            continue
        fields = {k: (int(v) if v.isdigit() else v) for k, v in FIELD_RE.findall(m.group(2))}
        if m.group(1).startswith("cpu"):
            cpus[m.group(1)[:-1]] = fields
        else:
            units[m.group(1).lower()] = fields
    pinned = [f.get("MinFreq") == f.get("MaxFreq") for f in cpus.values() if f.get("Online", 1) == 1]
    if "gpu" in units:
        pinned.append(units["gpu"].get("MinFreq") == units["gpu"].get("MaxFreq"))
    return {"cpus": cpus, "gpu": units.get("gpu"), "emc": units.get("emc"), "locked": all(pinned) if cpus else None}


def jetson_clocks_state(binary: str = "jetson_clocks") -> dict:
    """Return whether the clocks are locked, from `jetson_clocks --show`, with its output; where it
    cannot be asked (no jetson_clocks, not root), `locked` is None and `reason` says why."""
    path = shutil.which(binary)
    if path is None:
        return {"locked": None, "reason": "jetson_clocks is not on PATH (not a Jetson): clock locking unknown",
                "output": None}
    # It needs root: a non-root run asks through sudo where sudo lets it without a password.
    sudo = shutil.which("sudo") if os.geteuid() != 0 else None
    argv = ([sudo, "-n"] if sudo else []) + [path, "--show"]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as error:
        return {"locked": None, "reason": f"`{' '.join(argv)}` failed: {error}", "output": None}
    output = (result.stdout + result.stderr).strip()
    state = parse_jetson_clocks(result.stdout)
    if result.returncode != 0 or state["locked"] is None:
        return {"locked": None, "reason": f"`{' '.join(argv)}` exit {result.returncode}: "
                                          f"{output.splitlines()[0] if output else 'no output'}", "output": output}
    return {**state, "reason": None, "output": output}


def cpu_governors(root: Path) -> dict[str, str]:
    """Return {cpuN: scaling governor} for the cores that report one."""
    governors = {}
    cpu_dir = root / "sys" / "devices" / "system" / "cpu"
    for path in sorted(cpu_dir.glob("cpu[0-9]*/cpufreq/scaling_governor"), key=lambda p: int(p.parts[-3][3:])):
        value = _read(path)
        if value:
            governors[path.parts[-3]] = value
    return governors


def package_version(*names: str) -> str | None:
    """Return the installed version of the first distribution found among names, or None."""
    # Read from package metadata: importing torch or mxnet only to ask costs seconds.
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def mxnet_version() -> str | None:
    """Return MXNet's version whatever its wheel is called (mxnet, mxnet-cu112, ...), or None."""
    found = package_version("mxnet")
    if found:
        return found
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name.startswith("mxnet"):
            return dist.version
    return None


def git_state(checkout: Path) -> dict:
    """Return {git_commit, git_dirty} of a checkout, None values outside a git checkout."""
    git = shutil.which("git")
    if git is None:
        return {"git_commit": None, "git_dirty": None}
    try:
        head = subprocess.run([git, "-C", str(checkout), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return {"git_commit": None, "git_dirty": None}
        status = subprocess.run([git, "-C", str(checkout), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return {"git_commit": None, "git_dirty": None}
    dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    return {"git_commit": head.stdout.strip(), "git_dirty": dirty}


def collect_provenance(*, root="/", checkout=None, nvpmodel: str = "nvpmodel") -> dict:
    """Return the run's provenance: device, L4T, power mode, CPU state, versions, commit, host."""
    root = Path(root)
    model = _read(root / "proc" / "device-tree" / "model")
    if model is None:  # not a device-tree board: an x86 host names itself through DMI
        model = _read(root / "sys" / "devices" / "virtual" / "dmi" / "id" / "product_name")
    cpu_dir = root / "sys" / "devices" / "system" / "cpu"
    return {
        "collected_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "device_model": model,
        **l4t_release(root),
        "nvpmodel": nvpmodel_mode(nvpmodel),
        "jetson_clocks": jetson_clocks_state(),
        "cpu_governors": cpu_governors(root),
        "online_cores": parse_cpu_list(_read(cpu_dir / "online")),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "torch": package_version("torch"),
        "torchvision": package_version("torchvision"),
        "mxnet": mxnet_version(),
        "numpy": package_version("numpy"),
        **git_state(Path(checkout) if checkout is not None else CHECKOUT),
    }
