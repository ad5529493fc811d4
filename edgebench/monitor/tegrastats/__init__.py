"""tegrastats: parse its lines into hw.csv columns, and run it beside a training job.

- fields.py: parse_line(), the parser of one line, every field found by name, and read_lines(),
  a log read one line at a time, each line judged as parse_log judges it;
- log.py: parse_log(), whole logs read a block at a time, and `edgebench parse-tegrastats`;
- runner.py: TegrastatsRunner, tegrastats beside a training job writing the hw.log.
"""

from __future__ import annotations

from edgebench.monitor.tegrastats.fields import (
    line_ending,
    looks_complete,
    parse_line,
    read_lines,
    split_stamps,
)
from edgebench.monitor.tegrastats.log import cli, numeric_columns, parse_log
from edgebench.monitor.tegrastats.runner import TegrastatsRunner, utc_stamp

__all__ = ["TegrastatsRunner", "cli", "line_ending", "looks_complete", "numeric_columns", "parse_line",
           "parse_log", "read_lines", "split_stamps", "utc_stamp"]
