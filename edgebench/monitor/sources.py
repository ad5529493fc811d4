"""The monitor's sources, chosen from a table: which run beside a training job, and how their raw
logs become one hw.csv.

| source     | runs where                                  | measures                           | raw log      |
| ---------- | ------------------------------------------- | ---------------------------------- | ------------ |
| tegrastats | the board's monitor is tegrastats         | loads, clocks, temperatures, rails | hw.log       |
| host       | the board's monitor is host               | loads, RAM; RAPL, NVML power       | hw.log       |
| rails      | monitor.rails (auto: board, rails found) | the module's rails at rate_hz      | hw.rails.log |
| wall       | monitor.external.type is set                | the whole board at the socket      | hw.wall.log  |

The first two are the primary source (one of them, by the board description); the others run beside
it. Their logs are merged into hw.csv, rows sorted by timestamp, each column empty where its
source has no value. When the rails source ran, it is the power source: `power_<rail>_mw` and
`power_total_mw` are its own (10-100 Hz), and the primary's power columns keep their values
under its name (`tegrastats_power_vdd_in_mw`, `tegrastats_power_total_mw`), so that the two can
be compared (run.json energy.compared). The wall meter's readings are `power_wall_mw`, never part
of `power_total_mw`. Board side: Python 3.8+.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from edgebench.hwconfig.resolve import HardwareConfigError
from edgebench.monitor.sampling import Sampler
from edgebench.settings import Monitor, section

RAILS_LOG, WALL_LOG = "hw.rails.log", "hw.wall.log"


class MonitorRefused(HardwareConfigError):
    """A monitor source the config asks for that this board cannot provide (the message names the key)."""


def monitor_settings(monitor) -> Monitor:
    """Return the typed monitor section from a Monitor, the section's dict, or a bare interval in seconds."""
    if isinstance(monitor, (int, float)):
        monitor = {"interval_s": float(monitor)}
    return section(Monitor, monitor)


def monitor_kind(board: dict) -> str:
    """Return which primary source a board description uses: 'tegrastats' or 'host'."""
    kind = board["monitor"]  # load_board fills in its default
    primary = [name for name, source in SOURCES.items() if source.read is not None]
    if kind not in primary:
        raise ValueError(f"board description {board.get('name')!r}: monitor {kind!r} unknown "
                         f"({' or '.join(primary)})")
    return kind


# --- the sources --------------------------------------------------------------------------


def _open_tegrastats(board, log_path, settings):
    from edgebench.monitor.tegrastats import TegrastatsRunner

    return TegrastatsRunner(log_path, interval_ms=round(settings.interval_s * 1000))


def _open_host(board, log_path, settings):
    # Imported here, not at the top: `python -m edgebench.monitor.host` (the sampler's own process)
    # must not find its module already imported by this package.
    from edgebench.monitor.host import HostSampler

    return HostSampler(log_path, settings.interval_s)


def _open_rails(board, log_path, settings):
    from edgebench.monitor.rails import RailsSampler

    rails = settings.rails
    return RailsSampler(log_path, rails["rate_hz"], rails["sysfs_root"])


def _open_wall(board, log_path, settings):
    from edgebench.monitor.wall import WallSampler, meter_settings

    return WallSampler(log_path, meter_settings(settings.external))


def _read_tegrastats(board, log_path, power_method):
    from edgebench.monitor.tegrastats import parse_log

    return parse_log(log_path, board=board, power_method=power_method)


def _read_host(board, log_path, power_method):
    from edgebench.monitor.host import parse_host_log
    from edgebench.monitor.power import add_total_power

    hw, skipped = parse_host_log(log_path)
    return add_total_power(hw, board, method=power_method), skipped


@dataclass(frozen=True)
class Source:
    """A monitor source: its raw log's name, what it measures, and how to start it."""

    name: str
    log_name: str
    measures: str
    open: Callable[..., Sampler]  # (board, log_path, settings) -> an unstarted sampler
    # Seconds it must go on after the last epoch for its trace to cover that epoch's end.
    trailing_wait_s: Callable = lambda settings: 0.0
    # A primary source's reader: (board, log_path, power_method) -> (frame with the total
    # power, skipped lines). The extra sources' logs are merged by read_monitor itself.
    read: Optional[Callable] = None


SOURCES: Dict[str, Source] = {s.name: s for s in (
    # tegrastats prints on its own clock: one interval more, and a quarter for the line to come
    # through the terminal. The child samplers take a last sample when stopped.
    Source("tegrastats", "hw.log", "module rails (tegrastats), loads, clocks, temperatures", _open_tegrastats,
           lambda settings: 1.25 * float(settings.interval_s), read=_read_tegrastats),
    Source("host", "hw.log", "loads, memory; RAPL package/DRAM and NVML GPU power", _open_host, read=_read_host),
    Source("rails", RAILS_LOG, "module rails read from the INA3221/INA238 monitors", _open_rails),
    Source("wall", WALL_LOG, "the whole board at the wall socket", _open_wall),
)}


def source_log(hw_log, name: str) -> Path:
    """Return where a source writes its raw log: beside hw.log."""
    return Path(hw_log).with_name(SOURCES[name].log_name)


def extra_logs(hw_log) -> List[Path]:
    """Return the raw logs of the sources beside the primary (published beside hw.log when present)."""
    return [source_log(hw_log, name) for name, source in SOURCES.items() if source.log_name != "hw.log"]


# --- which sources run --------------------------------------------------------------------


@dataclass
class Plan:
    """The sources a run starts, and why each extra one is on or off."""

    names: List[str]
    reasons: Dict[str, str] = field(default_factory=dict)


def _rails_plan(board: dict, settings: Monitor) -> Optional[str]:
    """Return None when the rail sampler should run, else why not; raise MonitorRefused where it must and cannot."""
    from edgebench.monitor.power import total_power_spec
    from edgebench.monitor.rails import find_channels

    rails = settings.rails
    enabled = rails["enabled"]
    if enabled is False:
        return "monitor.rails.enabled: false"
    named = (board.get("power") or {}).get("sysfs_rails")
    if enabled == "auto" and not named:
        return f"board description {board.get('name')!r} names no sysfs_rails (monitor.rails.enabled: auto)"
    channels, found = find_channels(rails["sysfs_root"])
    problem = None
    unreadable = [c.rail for c in channels if c.read_mw() is None]
    for channel in channels:
        channel.close()
    if not channels:
        problem = "; ".join(found["notes"]) or "no INA3221 / INA238 rail found"
    elif unreadable:
        problem = f"rails {', '.join(unreadable)} under {rails['sysfs_root']} cannot be read (permissions?)"
    else:
        spec = total_power_spec([c.column for c in channels], board)
        wanted = (board.get("power") or {}).get("total_rails")
        fallback = (board.get("power") or {}).get("fallback_total_rails")
        found_rails = {c.rail for c in channels}
        if wanted and not (set(wanted) <= found_rails or (fallback and set(fallback) <= found_rails)):
            problem = (f"the rails found ({', '.join(sorted(found_rails))}) lack the total rails of board description "
                       f"{board.get('name')!r} ({', '.join(wanted)})")
        elif spec is None:
            problem = "no total power can be formed from the rails found"
    if problem is None:
        return None
    if enabled is True:
        raise MonitorRefused(f"monitor.rails.enabled: true, but {problem}")
    return f"{problem} (monitor.rails.enabled: auto)"


def plan_sources(board: dict, monitor, *, check_meter: bool = False) -> Plan:
    """Return the sources a run starts: the primary, then rails and wall where configured and possible.

    Raises MonitorRefused (naming the config key) for a source that is asked for and cannot run
    here; with check_meter, also for a wall meter that gives no good reading now.
    """
    from edgebench.monitor.wall import MeterError, check_meter as first_reading, meter_settings

    settings = monitor_settings(monitor)
    plan = Plan([monitor_kind(board)])
    reason = _rails_plan(board, settings)
    if reason is None:
        plan.names.append("rails")
    else:
        plan.reasons["rails"] = reason
    try:
        meter = meter_settings(settings.external)
        if meter is not None and check_meter:
            first_reading(meter)
    except MeterError as error:
        raise MonitorRefused(str(error)) from None
    if meter is None:
        plan.reasons["wall"] = "monitor.external.type not set"
    else:
        plan.names.append("wall")
    return plan


def check_monitor(board: dict, monitor) -> Plan:
    """Return the plan after checking, before training, that every source asked for works here.

    A wall meter must give one good reading within its timeout; required rails must be there.
    Raises MonitorRefused, whose message names the config key.
    """
    return plan_sources(board, monitor, check_meter=True)


class Monitors:
    """The planned sources' samplers, entered in order (the primary first) and left in reverse."""

    def __init__(self, board: dict, log_path, monitor):
        self.settings = monitor_settings(monitor)
        self.plan = plan_sources(board, self.settings)
        self.samplers: Dict[str, Sampler] = {name: SOURCES[name].open(board, source_log(log_path, name), self.settings)
                                             for name in self.plan.names}
        self._stack: Optional[contextlib.ExitStack] = None

    def __enter__(self) -> "Monitors":
        with contextlib.ExitStack() as stack:
            for sampler in self.samplers.values():
                stack.enter_context(sampler)
            self._stack = stack.pop_all()  # all started: kept running past this block
        return self

    def __exit__(self, *exc) -> bool:
        if self._stack is not None:
            self._stack.close()
            self._stack = None
        return False


def open_monitor(board: dict, log_path, monitor) -> Monitors:
    """Return the unstarted monitor (a context manager) of a run: its sources' samplers, their logs beside log_path.

    monitor: the config's monitor section (or, as before, a bare interval in seconds).
    """
    return Monitors(board, log_path, monitor)


def trailing_wait_s(board: dict, monitor) -> float:
    """Return how long the monitor must go on after the last epoch for its trace to cover that epoch's end.

    Without a sample after the end, the last stretch of training would count as not covered.
    """
    return SOURCES[monitor_kind(board)].trailing_wait_s(monitor_settings(monitor))


# --- one hw.csv from the logs -------------------------------------------------------------


@dataclass
class Trace:
    """The merged hw.csv of a run, and what each source contributed."""

    hw: object  # pandas DataFrame
    skipped: int
    power_source: Optional[str]  # the source of power_total_mw
    power_interval_s: Optional[float]  # its sampling interval, for telling holes in its trace
    sources: Dict[str, dict]
    wall_lost: List[tuple] = field(default_factory=list)  # (timestamp, count, reason) of each lost reading


def _primary_frame(board: dict, log_path: Path, power_method: str):
    """Return (frame, skipped lines) of the primary source's log, its total power added."""
    return SOURCES[monitor_kind(board)].read(board, log_path, power_method)


def _renamed_power(hw, prefix: str):
    """Return hw with its power and energy columns under the source's name (another source holds the power)."""
    renamed = {c: f"{prefix}_{c}" for c in hw.columns if c.startswith(("power_", "energy_"))}
    out = hw.rename(columns=renamed)
    out.attrs = {}
    return out


def read_monitor(board: dict, log_path, monitor=None) -> Trace:
    """Return the run's trace: every source's log beside log_path (hw.log), merged into one frame."""
    import pandas as pd

    from edgebench.monitor.power import add_total_power
    from edgebench.monitor.sampling import missed_ticks

    settings = monitor_settings(monitor if monitor is not None else {})
    power_method = settings.power_method
    log_path = Path(log_path)
    primary = monitor_kind(board)
    hw, skipped = _primary_frame(board, log_path, power_method)
    sources = {primary: {"log": log_path.name, "measures": SOURCES[primary].measures, "samples": int(len(hw)),
                         "power_total": hw.attrs.get("power_total")}}
    power_source = primary if hw.attrs.get("power_total") else None
    power_interval_s = float(settings.interval_s)
    frames = [hw]
    power_spec = hw.attrs.get("power_total")

    rails_log = source_log(log_path, "rails")
    if rails_log.is_file():
        from edgebench.monitor.rails import parse_rails_log

        rails, rails_skipped, found = parse_rails_log(rails_log)
        skipped += rails_skipped
        rails = add_total_power(rails, board, method=power_method, copy=False)
        info = {"log": rails_log.name, "measures": SOURCES["rails"].measures, "samples": int(len(rails)),
                "missed_ticks": missed_ticks(rails_log), "power_total": rails.attrs.get("power_total")}
        if found:
            info.update({k: found.get(k) for k in ("rate_hz", "rails", "chips", "notes")})
        sources["rails"] = info
        if rails.attrs.get("power_total") and "power_total_mw" in rails and rails["power_total_mw"].notna().any():
            # The rails are the power source now; the primary's power keeps its values, renamed.
            frames = [_renamed_power(hw, primary), rails]
            power_source, power_spec = "rails", rails.attrs["power_total"]
            if found and found.get("rate_hz"):
                power_interval_s = 1.0 / float(found["rate_hz"])
            info["compared_with"] = f"{primary}_power_total_mw" if "power_total_mw" in hw.columns else None

    wall_log = source_log(log_path, "wall")
    if wall_log.is_file():
        from edgebench.monitor.wall import parse_wall_log

        wall, wall_skipped, lost = parse_wall_log(wall_log)
        skipped += wall_skipped
        sources["wall"] = {"log": wall_log.name, "measures": SOURCES["wall"].measures, "samples": int(len(wall)),
                           "interval_s": float(settings.external["interval_s"]),
                           "lost_readings": sum(count for _, count, _ in lost),
                           # the first few, for the record (all of them are counted)
                           "lost_first": [{"timestamp": t, "count": n, "reason": r} for t, n, r in lost[:10]]}
        if len(wall):
            frames.append(wall)
    else:
        lost = []

    frames = [frame for frame in frames if len(frame) or frame is frames[0]]
    if len(frames) > 1:
        merged = pd.concat(frames, ignore_index=True, sort=False)
        order = pd.to_datetime(merged["timestamp"], format="ISO8601", utc=True).argsort(kind="stable")
        merged = merged.iloc[order.to_numpy()].reset_index(drop=True)
    else:
        merged = frames[0]
    merged.attrs["power_total"] = power_spec
    return Trace(merged, skipped, power_source if power_spec else None, power_interval_s, sources, lost)


def read_monitor_log(board: dict, log_path, power_method: str = "total"):
    """Return (hw.csv DataFrame with power_total_mw where power is known, skipped line count)."""
    trace = read_monitor(board, log_path, {"power_method": power_method})
    return trace.hw, trace.skipped
