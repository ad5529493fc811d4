"""Hardware monitors: tegrastats on Jetsons, the host sampler elsewhere; both give hw.csv rows."""

from __future__ import annotations


def monitor_kind(profile: dict) -> str:
    """Return which monitor a device profile uses: 'tegrastats' or 'host'."""
    kind = profile.get("monitor", "host")
    if kind not in ("tegrastats", "host"):
        raise ValueError(f"device profile {profile.get('name')!r}: monitor {kind!r} unknown (tegrastats or host)")
    return kind


def open_monitor(profile: dict, log_path, interval_s: float):
    """Return an unstarted monitor (a context manager) writing raw samples to log_path."""
    if monitor_kind(profile) == "tegrastats":
        from edgebench.monitor.tegrastats import TegrastatsRunner

        return TegrastatsRunner(log_path, interval_ms=round(interval_s * 1000))
    # Imported here, not at the top: `python -m edgebench.monitor.host` (the sampler's own process)
    # must not find its module already imported by this package.
    from edgebench.monitor.host import HostSampler

    return HostSampler(log_path, interval_s)


def trailing_wait_s(profile: dict, interval_s: float) -> float:
    """Return how long the monitor must go on after the last epoch for its trace to cover that epoch's end.

    The host sampler takes a last sample when it is stopped. tegrastats prints on its own clock,
    so it runs one interval more, and a quarter for the line to come through the terminal: without
    a sample after the end, the last stretch of training would count as not covered.
    """
    return 1.25 * float(interval_s) if monitor_kind(profile) == "tegrastats" else 0.0


def read_monitor_log(profile: dict, log_path, power_method: str = "total"):
    """Return (hw.csv DataFrame with power_total_mw where power is known, skipped line count)."""
    if monitor_kind(profile) == "tegrastats":
        from edgebench.monitor.tegrastats import parse_log

        return parse_log(log_path, profile=profile, power_method=power_method)
    from edgebench.monitor.host import parse_host_log
    from edgebench.monitor.power import add_total_power

    hw, skipped = parse_host_log(log_path)
    return add_total_power(hw, profile, method=power_method), skipped
