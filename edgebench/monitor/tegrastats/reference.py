"""The reference tegrastats parser: one line at a time, every field found by name.

parse_line() reads one line into hw.csv columns, read_lines() a whole log one line at a time.
What they do defines the parser's behaviour: the fast whole-log parser (fast.py) must give
the same rows, and skip the same lines, and the tests compare the two. This module also holds
the rule for lines cut off (line_ending, usual_ending), which both parsers apply.
"""

from __future__ import annotations

from collections import Counter

# The regular expressions are used as fields.NAME_RE, not imported by name: CPython (3.11 on)
# compiles `NAME.match(...)` on a name an import bound without its method-call fast path, a
# bound method made per call (maybe_optimize_method_call and is_import_originated in its
# compiler), which cost parse_line 2-3% of its time.
from edgebench.monitor.tegrastats import fields
from edgebench.monitor.tegrastats.fields import (
    BOARD_TIME_ISO,
    BOARD_TIMESTAMP,
    CPU_COLUMNS,
    EDP_NAME,
    ENGINE_COLUMNS,
    GPU_PREFIXES,
    LAST_TOKENS,
    MARKER,
    RAIL_COLUMNS,
    RESTART_MARKER,
    SENSOR_OFF_C,
    STAMP_COLUMNS,
    TEMP_COLUMNS,
    TIMESTAMP,
    TO_MB,
    UNCONNECTED_RAILS,
    stamp_matches,
)

# A run of lines shorter than this has no usual ending: its lines are judged alone.
MIN_RUN_LINES = 3
# What read_raw() says of a line that is our restart marker, and of one that is no sample.
RESTART, SKIPPED = "restart", "skipped"


# --- lines cut off -----------------------------------------------------------------------
# A line cut off (the board reset, the log was copied while written) must be skipped, not read
# as a sample short of some fields. It is judged twice:
# - alone (line_ending): a line that does not end in a whole field (cut inside a name, after
#   `@` or `/`, inside a temperature), or is not one line of tegrastats' at all, is cut;
# - beside its run (usual_ending): one tegrastats process prints the same fields on every line,
#   in the same order. A line cut between two fields, or inside the digits that end one
#   (`EMC_FREQ 42%@186` of `42%@1866`), looks whole alone but ends in another field than most
#   lines of its run: it is cut too.
# A line cut inside the digits the whole line ends with (`VDD_SYS_DDR 557/60` of `557/601`)
# cannot be told by anything, and is read.


def looks_complete(line: str) -> bool:
    """Return whether a raw line, alone, has the shape of one whole tegrastats sample."""
    return line_ending(line) is not None


def line_ending(line: str) -> tuple | None:
    """Return (kind, name, values) of the last field of a line that looks whole alone, else None."""
    # Every tegrastats format starts with RAM; a second RAM means two lines glued together,
    # unbalanced brackets or a last field that is not whole mean the line was cut off.
    if not (
        line.startswith("RAM ")
        and line.count("RAM ") - line.count("IRAM ") == 1
        and line.count("[") == line.count("]")
        and line.count("(") == line.count(")")
    ):
        return None
    return _last_field(line.rsplit(None, LAST_TOKENS))


def _last_field(tokens: list[str]) -> tuple | None:
    """Return (kind, name, values) of the whole field a line's last tokens end with, else None.

    values tells a field cut short from a whole one of the same name where both look whole:
    a rail's count of values (`cur/avg` of `cur/avg/max`), a temperature's (`cur` of `cur/max`),
    whether a clock's or the CPU list's frequency is there (`0%` of `0%@76`).
    """
    last = tokens[-1]
    m = fields.TEMP_FIELD_RE.fullmatch(last)
    if m:
        return "temp", m.group(1), last.count("/")
    if len(tokens) < 2:
        return None
    name = tokens[-2]
    if fields.RAIL_VALUE_RE.fullmatch(last):
        return ("rail", name, last.count("/")) if fields.NAME_TOKEN_RE.fullmatch(name) else None
    if name in ("CPU", "cpu"):
        return ("cpu", "CPU", last[-1] != "]") if fields.CPU_LIST_RE.fullmatch(last) else None
    if not fields.CLOCK_VALUE_RE.fullmatch(last):
        return None
    if fields.NAME_TOKEN_RE.fullmatch(name):
        return "clock", name, "@" in last
    if " ".join(tokens[-3:-1]) == EDP_NAME:
        return "edp", "EDP", 1
    if fields.MTS_RE.fullmatch(" ".join(tokens[-5:])):  # MTS fg n% bg n%: 5 tokens
        return "mts", "MTS", 2
    return None


def usual_ending(counts: dict, lines: int):
    """Return the ending more than half of a run's lines have, or None (no usual ending).

    counts: lines per ending in one run of lines (one tegrastats process's); a line of the
    run whose ending is not the usual one is cut off.
    """
    if lines < MIN_RUN_LINES or not counts:
        return None
    ending, count = max(counts.items(), key=lambda item: item[1])
    return ending if count * 2 > lines else None


# --- one line ----------------------------------------------------------------------------


def split_stamps(line: str) -> tuple[str | None, str | None, str]:
    """Return (timestamp, board timestamp kept beside ours or None, the line after its stamps)."""
    # timestamp: our arrival stamp (UTC, same clock as epochs.csv) where the runner wrote one,
    # else the board's own stamp (local time, no zone) where tegrastats printed one.
    ours, board = stamp_matches(line)
    board_time = None
    if board:
        board_time = "".join(board.group(part) if isinstance(part, int) else part for part in BOARD_TIME_ISO)
    last = board or ours
    body = line[last.end():] if last else line
    if ours is None:
        return board_time, None, body
    return ours.group(1), board_time, body


def parse_line(line: str) -> dict | None:
    """Return one tegrastats line as a dict of hw.csv columns, or None if it is not one.

    The line is judged alone; a line cut between two fields needs its neighbours to be told
    (read_lines and parse_log judge that too).
    """
    stamp, board_time, body = split_stamps(line.strip())
    return parse_body(body, stamp, board_time)


def parse_body(line: str, stamp: str | None, board_time: str | None) -> dict | None:
    """Return the hw.csv columns of a line without its stamps, or None if it is not one."""
    read = read_body(line, stamp, board_time)
    return read[0] if read else None


def read_raw(raw: str):
    """Return (hw.csv columns, line_ending) of a raw log line that is a sample, else what it is:
    None for a blank line or a marker of ours, RESTART for our restart marker, SKIPPED for
    anything else (judged alone: usual_ending judges it beside its run)."""
    line = raw.strip()
    if not line:
        return None
    if line[0] == MARKER:
        return RESTART if line.startswith(RESTART_MARKER) else None
    stamp, board_time, body = split_stamps(line)
    read = read_body(body, stamp, board_time)
    return SKIPPED if read is None else read


def _mb(value: str, unit: str):
    """Return a size in MB: an int when the unit is MB, else a float."""
    return int(value) if unit == "M" else int(value) * TO_MB[unit]


def _number(text: str):
    """Return an int where the text is integral, else a float."""
    return float(text) if "." in text else int(text)


def _celsius(text: str):
    """Return a temperature in C, or None for a sensor that is powered off."""
    value = float(text)
    return None if value == SENSOR_OFF_C else value


def _max_of(array: str):
    """Return the highest clock of a per-GPC array like `1300,1300`, None if empty."""
    values = [int(v) for v in array.split(",") if v]
    return max(values) if values else None


def _starts_word(line: str, pos: int) -> bool:
    """Return whether a match at pos begins a word (not the tail of a longer name)."""
    return pos == 0 or line[pos - 1] == " "


def read_body(line: str, stamp: str | None, board_time: str | None) -> tuple[dict, tuple] | None:
    """Return (hw.csv columns, line_ending) of a line without its stamps, or None if not a sample."""
    ending = line_ending(line)
    if ending is None:
        return None
    row: dict = {TIMESTAMP: stamp}
    if board_time is not None:
        row[BOARD_TIMESTAMP] = board_time

    m = fields.RAM_RE.match(line)
    if m is None:
        return None
    used, total, unit, lfb_blocks, lfb_size, lfb_unit = m.groups()
    row["ram_used_mb"] = _mb(used, unit)
    row["ram_total_mb"] = _mb(total, unit)
    if lfb_blocks is not None:
        # Largest free block: lfb_blocks blocks of lfb_block_mb each (fragmentation).
        row["ram_lfb_blocks"] = int(lfb_blocks)
        row["ram_lfb_block_mb"] = _mb(lfb_size, lfb_unit)
    m = fields.SWAP_RE.search(line)
    if m:
        used, total, unit, cached, cached_unit = m.groups()
        row["swap_used_mb"] = _mb(used, unit)
        row["swap_total_mb"] = _mb(total, unit)
        row["swap_cached_mb"] = _mb(cached, cached_unit)
    m = fields.IRAM_RE.search(line)
    if m:
        row["iram_used_kb"] = int(m.group(1))
        row["iram_total_kb"] = int(m.group(2))
        row["iram_lfb_kb"] = int(m.group(3))

    m = fields.CPU_RE.search(line)
    shared_freq = None
    if m is None:
        m = fields.OLD_CPU_RE.search(line)
        if m is None:
            return None
        if m.group(2) is not None:
            shared_freq = int(m.group(2))
    cores = fields.CORE_RE.findall(m.group(1))
    if len(cores) != m.group(1).count(",") + 1:
        return None  # an entry that is neither `off` nor a load: not a CPU list we know
    for (load_col, freq_col), (off, load, freq) in zip(CPU_COLUMNS, cores):
        if off:
            # An offline core: empty values, so its column still lines up with its number.
            row[load_col] = row[freq_col] = None
        else:
            row[load_col] = int(load)
            row[freq_col] = int(freq) if freq else shared_freq

    m = fields.EMC_RE.search(line)
    if m:
        load, freq = m.groups()
        row["emc_load_pct"] = int(load) if load is not None else None
        if freq is not None:
            row["emc_freq_mhz"] = int(freq)
    for m in fields.GPU_RE.finditer(line):
        which, load, freq, array = m.groups()
        prefix = GPU_PREFIXES[which]
        row[prefix + "_load_pct"] = int(load) if load is not None else None
        if freq is not None:
            row[prefix + "_freq_mhz"] = int(freq)
        elif array is not None:
            row[prefix + "_freq_mhz"] = _max_of(array)
    for m in fields.ENGINE_RE.finditer(line):
        if not _starts_word(line, m.start()):
            continue
        name, off, load, freq, array = m.groups()
        freq_col, load_col = ENGINE_COLUMNS[name]
        if load is not None:
            row[load_col] = int(load)
        if off:
            row[freq_col] = None
        elif freq is not None:
            row[freq_col] = int(freq)
        else:
            row[freq_col] = _max_of(array)
    m = fields.MTS_RE.search(line)
    if m:
        row["mts_fg_pct"] = int(m.group(1))
        row["mts_bg_pct"] = int(m.group(2))
    m = fields.EDP_RE.search(line)
    if m:
        row["edp_limit_mhz"] = int(m.group(1))

    for m in fields.TEMP_RE.finditer(line):
        at = m.start()
        name = line[line.rfind(" ", 0, at) + 1:at]
        if not name or not name[0].isalpha():
            continue
        cur, peak = m.groups()
        cur_col, max_col = TEMP_COLUMNS[name]
        row[cur_col] = _celsius(cur)
        if peak is not None:
            row[max_col] = _celsius(peak)
    for name, cur, _unit, avg, peak in fields.RAIL_RE.findall(line):
        if name in UNCONNECTED_RAILS:
            continue
        cur_col, avg_col, max_col = RAIL_COLUMNS[name]
        row[cur_col] = _number(cur)
        row[avg_col] = _number(avg)
        if peak:
            row[max_col] = _number(peak)
    return row, ending


# --- a whole log, one line at a time -----------------------------------------------------


def read_lines(lines) -> tuple[list[dict], int]:
    """Return (rows, count of skipped lines) of a log's lines, read one at a time.

    Each line is judged alone as parse_line judges it, then beside its run's lines
    (usual_ending). Our markers are neither rows nor skips; a restart marker begins a new run.
    """
    rows, endings, runs, skipped = [], [], [0], 0
    for raw in lines:
        read = read_raw(raw)
        if read is None:
            continue
        if read is RESTART:
            if runs[-1] != len(rows):
                runs.append(len(rows))
        elif read is SKIPPED:
            skipped += 1
        else:
            rows.append(read[0])
            endings.append(read[1])
    kept = []
    for begin, end in zip(runs, runs[1:] + [len(rows)]):
        usual = usual_ending(Counter(endings[begin:end]), end - begin)
        kept += [row for row, ending in zip(rows[begin:end], endings[begin:end]) if usual in (None, ending)]
    return kept, skipped + len(rows) - len(kept)


def numeric_columns(df):
    """Return a DataFrame of rows read here with every column but the stamps numeric (an
    always-empty one as float NaN): parse_line gives None for an empty value."""
    import pandas as pd

    for column in df.columns:
        if column not in STAMP_COLUMNS and df[column].dtype == object:
            df[column] = pd.to_numeric(df[column])
    return df
