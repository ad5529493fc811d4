"""Power modes as a hardware-configuration axis: `hwconfigs.<cfg>.power_mode` set with nvpmodel.

A Jetson's power mode (nvpmodel) caps its CPU, GPU and memory clocks and may take cores
offline; the same board is a different machine in each mode. A configuration naming a mode
(its id, or its name as nvpmodel lists it) has the run put the board in that mode first and
back in the previous one afterwards, whatever happens inside.

Changing the mode needs root: nvpmodel is run directly by root, else through `sudo -n` (never
a password prompt). nvpmodel itself may ask "DO YOU WANT TO REBOOT NOW?" on stdin (Orin, when
the mode changes the number of online CPUs; some JetPack 6 releases once the GPU has been
used): it always gets an empty stdin and a timeout, so it gives up instead of waiting, and
the run is refused with what it said. A board in a mode it was not configured for is never
measured: the mode is read back after it is set.

A process killed outright runs no exit code, and a board left in another mode skews every
later run. So before the mode changes, the mode to restore goes to a record file per host
(as for hotplug, edgebench/hwconfig/hotplug.py); a clean exit removes it. The next run,
`edgebench check` and `edgebench status` find a record whose owner is dead (recover_stale),
put the mode back and say so. Board side: Python 3.8+.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import List, Optional

from edgebench.hwconfig.recovery import stale_record
from edgebench.hwconfig.resolve import HardwareConfigError, host_cores

log = logging.getLogger(__name__)

# nvpmodel writes a few sysfs files and answers in well under a second; one still running
# after this is waiting for something (a prompt) and is stopped.
TIMEOUT_S = 30.0
# `nvpmodel -q`: "NV Power Mode: 15W" and the id on the next line (jetson_stats parses it so).
QUERY_RE = re.compile(r"NV Power Mode:\s*(\S+)\s*\n\s*(\d+)")
# `nvpmodel -p --verbose` lists "NVPM VERB: POWER_MODEL: ID=0 NAME=15W"; nvpmodel.conf itself
# has "< POWER_MODEL ID=0 NAME=15W >". One expression reads both.
MODEL_RE = re.compile(r"POWER_MODEL:?\s+ID=(\d+)\s+NAME=([^\s>]+)")
# The configuration nvpmodel reads when -p lists nothing (an old nvpmodel without --verbose output).
CONF_PATHS = ("/etc/nvpmodel.conf",)


class PowerModeRefused(HardwareConfigError):
    """This board cannot be put in the configured power mode here; the message names the config key."""


def _run(argv: List[str]) -> "tuple[int, str]":
    """Return (exit status, stdout and stderr together) of a command that gets no stdin."""
    timeout = TIMEOUT_S
    try:
        # An empty stdin: a Yes/No question reads end of input and nvpmodel gives up.
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        said = error.stdout.decode("utf-8", "replace") if isinstance(error.stdout, bytes) else (error.stdout or "")
        raise PowerModeRefused(f"`{' '.join(argv)}` did not answer within {timeout:g} s"
                               + (f"; it said: {' / '.join(said.strip().splitlines())}" if said else "")) from error
    except OSError as error:
        raise PowerModeRefused(f"`{' '.join(argv)}` could not run: {error}") from error
    return done.returncode, done.stdout


def parse_query(text: str) -> Optional[dict]:
    """Return {'id', 'name'} of the mode `nvpmodel -q` reports, or None."""
    m = QUERY_RE.search(text)
    return {"id": int(m.group(2)), "name": m.group(1)} if m else None


def parse_modes(text: str) -> List[dict]:
    """Return [{'id', 'name'}] of the modes in `nvpmodel -p --verbose` output or an nvpmodel.conf."""
    modes = {}
    uncommented = "\n".join(line.split("#", 1)[0] for line in text.splitlines())  # a conf's "#" comments
    for m in MODEL_RE.finditer(uncommented):
        modes.setdefault(int(m.group(1)), m.group(2))
    return [{"id": mode_id, "name": name} for mode_id, name in modes.items()]


def describe(mode: Optional[dict]) -> str:
    """Return a mode as people read it: `15W (0)`."""
    return f"{mode['name']} ({mode['id']})" if mode else "unknown"


def board_modes(nvpmodel: str) -> List[dict]:
    """Return the modes this board's nvpmodel configuration defines (empty if none can be read)."""
    _, out = _run([nvpmodel, "-p", "--verbose"])
    modes = parse_modes(out)
    for conf in CONF_PATHS if not modes else ():
        try:
            modes = parse_modes(Path(conf).read_text())
        except OSError:
            continue
        if modes:
            break
    return modes


def current_mode(nvpmodel: str) -> dict:
    """Return the mode the board is in, or raise PowerModeRefused."""
    _, out = _run([nvpmodel, "-q"])
    mode = parse_query(out)
    if mode is None:
        raise PowerModeRefused(f"`{nvpmodel} -q` did not report a power mode: {' / '.join(out.strip().splitlines())}")
    return mode


def privilege(nvpmodel: str) -> List[str]:
    """Return the command prefix that may change the mode ([] for root, else sudo -n), or raise PowerModeRefused."""
    if os.geteuid() == 0:
        return []
    sudo = shutil.which("sudo")
    if sudo is None:
        raise PowerModeRefused(f"changing the power mode needs root: this run is uid {os.geteuid()}, not root, "
                               "and there is no sudo")
    # `sudo -n -l CMD` asks the policy, without running anything or prompting, whether CMD may run.
    status, out = _run([sudo, "-n", "-l", nvpmodel])
    if status != 0:
        raise PowerModeRefused(f"changing the power mode needs root: this run is uid {os.geteuid()}, and sudo does not "
                               f"let it run {nvpmodel} without a password ({out.strip() or f'sudo -l exit {status}'})")
    return [sudo, "-n"]


def resolve_mode(name: str, wanted, modes: List[dict]) -> dict:
    """Return the mode hwconfigs.<name>.power_mode names (an id, or a name in any case), or raise."""
    for mode in modes:
        if (isinstance(wanted, int) and mode["id"] == wanted) or \
                (isinstance(wanted, str) and mode["name"].lower() in (wanted.lower(), wanted.lower().replace(" ", "_"))):
            return mode
    listed = ", ".join(describe(mode) for mode in modes) or "none could be read"
    raise PowerModeRefused(f"hwconfigs.{name}.power_mode: {wanted!r} is not a power mode of this board "
                           f"(nvpmodel lists: {listed})")


def check(name: str, wanted) -> dict:
    """Return the mode hwconfigs.<name>.power_mode names on this board, or raise PowerModeRefused
    if it cannot be set here (no nvpmodel, no such mode, no right to change it). Changes nothing."""
    return _checked(name, wanted)[2]


def _checked(name: str, wanted) -> "tuple[str, List[str], dict]":
    """Return (nvpmodel's path, the prefix that runs it with the right, the mode), or raise PowerModeRefused."""
    key = f"hwconfigs.{name}.power_mode"
    nvpmodel = shutil.which("nvpmodel")
    if nvpmodel is None:
        raise PowerModeRefused(f"{key}: {wanted!r}, but nvpmodel is not on PATH here (not a Jetson, or L4T's "
                               "nvpmodel is not installed), so the power mode cannot be set")
    try:
        mode = resolve_mode(name, wanted, board_modes(nvpmodel))
        prefix = privilege(nvpmodel)
    except PowerModeRefused as error:
        message = str(error)
        raise PowerModeRefused(message if message.startswith(key) else f"{key}: {message}") from error
    return nvpmodel, prefix, mode


def set_mode(nvpmodel: str, prefix: List[str], mode: dict) -> None:
    """Put the board in `mode` and check that it is in it, or raise PowerModeRefused with nvpmodel's words."""
    status, out = _run(prefix + [nvpmodel, "-m", str(mode["id"])])
    said = " / ".join(out.strip().splitlines())
    if "reboot required" in out.lower():
        raise PowerModeRefused(f"switching to {describe(mode)} needs a reboot, which a run cannot do "
                               f"(nvpmodel: {said}); set it by hand (sudo nvpmodel -m {mode['id']}, answer yes) "
                               "and run again")
    if status != 0 or "NVPM ERROR" in out:
        raise PowerModeRefused(f"`nvpmodel -m {mode['id']}` failed (exit {status}): {said}")
    now = current_mode(nvpmodel)
    if now["id"] != mode["id"]:
        raise PowerModeRefused(f"`nvpmodel -m {mode['id']}` returned, but the board reports {describe(now)}")


def record_path(directory) -> Path:
    """Return this host's power-mode record in a directory (per host: results/state may be shared by boards)."""
    return Path(directory) / f".power-mode-{socket.gethostname()}.json"


def write_record(record: Path, restore: dict, changed_to: dict) -> None:
    """Record durably which mode to put back, and who changed it."""
    from edgebench.atomic import write_text_atomic

    write_text_atomic(record, json.dumps({"pid": os.getpid(), "restore": restore, "set": changed_to}) + "\n")


def _restore(nvpmodel: str, prefix: List[str], mode: dict) -> bool:
    """Put the board back in `mode` if it is not in it; return whether anything was changed."""
    if current_mode(nvpmodel)["id"] == mode["id"]:
        return False
    set_mode(nvpmodel, prefix, mode)
    return True


def recover_stale(record) -> List[str]:
    """Put back the mode a dead run left set, per its record; return what was done (empty: nothing to do).

    A record whose owner still runs is left alone (that run restores the mode itself); one that
    cannot be acted on now (no nvpmodel, no right) is kept for a later try, and said so.
    """
    record = Path(record)
    try:
        data = stale_record(record)
    except ValueError as error:
        return [f"power mode: {record} is unreadable ({error}); check the mode by hand (nvpmodel -q)"]
    if data is None:
        return []
    pid = data.get("pid")
    head = f"power mode: a run (pid {pid}) died with the board in {describe(data.get('set'))}"
    nvpmodel = shutil.which("nvpmodel")
    try:
        if nvpmodel is None:
            raise PowerModeRefused("nvpmodel is not on PATH here")
        changed = _restore(nvpmodel, privilege(nvpmodel), data["restore"])
    except PowerModeRefused as error:
        return [f"{head}; restoring {describe(data['restore'])} from {record} failed: {error} (the record is kept)"]
    record.unlink()
    done = f"back in {describe(data['restore'])}" if changed else f"already in {describe(data['restore'])}"
    return [f"{head}; restored from {record}: {done}"]


# What the run in this process changed, for its provenance (None while no mode is set by it).
_in_force: Optional[dict] = None


def in_force() -> Optional[dict]:
    """Return {'requested', 'previous', 'set'} of the mode this process put the board in, or None."""
    return dict(_in_force) if _in_force else None


class PowerMode:
    """Context manager: the board in hwconfigs.<name>.power_mode while inside, back in its previous mode after.

    Entering raises PowerModeRefused (nothing changed, or changed back) where the mode cannot be
    set; a failed restore on exit is logged and its record kept for recover_stale.
    """

    def __init__(self, name: str, wanted, cores=(), record=None):
        self.name, self.wanted, self.cores = name, wanted, tuple(cores)
        self.record = Path(record) if record is not None else None
        self.previous: Optional[dict] = None
        self._changed = False

    def __enter__(self) -> "PowerMode":
        global _in_force
        if self.record is not None:
            for line in recover_stale(self.record):
                log.warning(line)
        # No nvpmodel, no such mode, no right to change it: refused before anything changes.
        self.nvpmodel, self.prefix, mode = _checked(self.name, self.wanted)
        try:
            self.previous = current_mode(self.nvpmodel)
            _in_force = {"requested": self.wanted, "previous": self.previous, "set": mode}
            if self.previous["id"] == mode["id"]:
                # Nothing to change. Not asking anyway: some JetPacks prompt for a reboot even then.
                log.info("power mode: already in %s", describe(mode))
                return self
            if self.record is not None:
                write_record(self.record, self.previous, mode)
            self._changed = True  # from here on, the exit puts the previous mode back and drops the record
            set_mode(self.nvpmodel, self.prefix, mode)
            # A mode may take cores offline (TX2's MAXQ turns the Denver cores off): the run's cores must stay.
            offline = sorted(set(self.cores) - host_cores())
            if offline:
                raise PowerModeRefused(f"{describe(mode)} takes core(s) {offline} offline, which "
                                       f"hwconfigs.{self.name}.cores needs")
        except PowerModeRefused as error:
            self._exit_restore()
            raise PowerModeRefused(f"hwconfigs.{self.name}.power_mode: {error}") from error
        except BaseException:
            self._exit_restore()
            raise
        log.info("power mode: %s set for the run (was %s)", describe(mode), describe(self.previous))
        return self

    def _exit_restore(self) -> None:
        """Put the previous mode back; drop the record once it is back, keep it (and say so) otherwise."""
        global _in_force
        _in_force = None
        if not self._changed:
            return
        try:
            changed = _restore(self.nvpmodel, self.prefix, self.previous)
        except PowerModeRefused as error:
            log.error("power mode: %s not restored (%s); %s keeps it for the next run, `edgebench check` or "
                      "`edgebench status` to restore", describe(self.previous), error, self.record)
            return
        self._changed = False
        if self.record is not None:
            self.record.unlink(missing_ok=True)
        if changed:
            log.info("power mode: back in %s", describe(self.previous))

    def __exit__(self, exc_type, exc, tb) -> None:
        self._exit_restore()


def power_mode_context(hwconfig, record_dir):
    """Return the context that sets hwconfig.power_mode for a run (a no-op context where none is configured)."""
    import contextlib

    if getattr(hwconfig, "power_mode", None) is None:
        return contextlib.nullcontext()
    return PowerMode(hwconfig.name, hwconfig.power_mode, hwconfig.cores, record=record_path(record_dir))
