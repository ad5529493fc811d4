"""tegrastats: parse its lines into hw.csv columns, and run it beside a training job.

- fields.py: the field grammar: what each field looks like, and the columns it fills;
- reference.py: the reference parser, one line at a time (parse_line, read_lines), and the
  rule for lines cut off: what it does defines the parser's behaviour;
- fast.py: parse_log(), the whole-log parser that must agree with the reference, with numpy
  over blocks of the log's bytes (blocks.py);
- command.py: `edgebench parse-tegrastats`;
- runner.py: TegrastatsRunner, tegrastats beside a training job writing the hw.log.
"""

from __future__ import annotations

from edgebench.monitor.tegrastats.command import cli
from edgebench.monitor.tegrastats.fast import parse_log
from edgebench.monitor.tegrastats.reference import (
    line_ending,
    looks_complete,
    numeric_columns,
    parse_line,
    read_lines,
    split_stamps,
)
from edgebench.monitor.tegrastats.runner import TegrastatsRunner

__all__ = ["TegrastatsRunner", "cli", "line_ending", "looks_complete", "numeric_columns", "parse_line",
           "parse_log", "read_lines", "split_stamps"]
