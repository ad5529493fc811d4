"""Hardware monitors beside a training run, chosen from a table of sources (sources.py): tegrastats
on Jetsons or the host sampler elsewhere, the boards' power rails read directly (rails.py), a
wall meter (wall.py); their logs are merged into one hw.csv."""

from __future__ import annotations

from edgebench.monitor.sources import (SOURCES, MonitorRefused, check_monitor, extra_logs, monitor_kind,
                                       monitor_settings, open_monitor, read_monitor, read_monitor_log,
                                       trailing_wait_s)

__all__ = ["SOURCES", "MonitorRefused", "check_monitor", "extra_logs", "monitor_kind", "monitor_settings",
           "open_monitor", "read_monitor", "read_monitor_log", "trailing_wait_s"]
