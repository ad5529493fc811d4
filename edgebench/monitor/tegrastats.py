"""tegrastats: parse its lines into hw.csv columns, and run it beside a training job.

Every field is found by name with its own regular expression over the whole line, never by
position: tegrastats adds, drops and renames fields between boards and L4T releases (see
resources/profiles/*.yaml and the reference rails.md), and a positional parser silently
reads the wrong number when that happens.

parse_line() is that parser. parse_log() applies it to whole logs, learning each line layout
once so that the many lines laid out alike are read with one match each (see "whole logs").
TegrastatsRunner runs tegrastats beside a training job and writes the hw.log they read.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

# --- one regular expression per field family -------------------------------------------
# Patterns start with a literal where they can (no leading \b): the regex engine then jumps
# straight to candidate positions instead of trying every character, which is most of the
# parser's speed. Where a name must not match inside a longer word, the code checks the
# character before the match instead.

# Our own arrival stamp, written by TegrastatsRunner in front of every raw line.
ARRIVAL_PATTERN = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?) "
ARRIVAL_RE = re.compile(ARRIVAL_PATTERN)
# The stamp newer tegrastats (L4T R35+) prints itself, in the board's local time.
BOARD_TIME_PATTERN = r"(\d\d)-(\d\d)-(\d{4}) (\d\d:\d\d:\d\d) "
BOARD_TIME_RE = re.compile(BOARD_TIME_PATTERN)
RAM_RE = re.compile(r"RAM (\d+)/(\d+)([kMG])B(?: ?\(lfb (\d+)x(\d+)([kMG])B\))?")
SWAP_RE = re.compile(r"SWAP (\d+)/(\d+)([kMG])B ?\(cached (\d+)([kMG])B\)")
IRAM_RE = re.compile(r"IRAM (\d+)/(\d+)kB ?\(lfb (\d+)kB\)")
CPU_RE = re.compile(r"CPU \[([^\]]*)\]")
# Before L4T 28 the list was lower-case and all cores shared one frequency after it.
OLD_CPU_RE = re.compile(r"cpu \[([^\]]*)\]@(\d+)")
CORE_RE = re.compile(r"(off)|(\d+)%(?:@(\d+))?")
EMC_RE = re.compile(r"EMC(?:_FREQ)? (?:(\d+)%)?(?:@(\d+))?")
# GR3D (the GPU) and GR3D2 (Orin's second GPC group on some builds). The frequency is one
# number, or since JetPack 6 an array with one clock per GPC: `@[621]`, `@[0,0,0]`.
GPU_RE = re.compile(r"GR3D(2?)(?:_FREQ)? (?:(\d+)%)?(?:@(?:(\d+)|\[([\d,]*)\]))?(?=\s|$)")
# Accelerator engines: `NVENC 716`, `NVDEC off`, `NVENC0_FREQ @0`, `VIC_FREQ 729`,
# `AVP 70%@12`, `PVA0_FREQ off`. A value of `off` means clock-gated: empty frequency.
ENGINE_RE = re.compile(
    r"(APE|AVP|VDE|MSENC|NVENC\d?|NVDEC\d?|NVJPG\d?|VIC|OFA|NVDLA\d?|PVA\d?)(?:_FREQ)? "
    r"(?:(off)|(?:(\d+)%)?@?(?:(\d+)|\[([\d,]*)\]))(?=\s|$)"
)
MTS_RE = re.compile(r"MTS fg (\d+)% bg (\d+)%")
# `name@tC`, and since JetPack 7.2 `name@curC/maxC`; the name is the text before the `@`.
# -256 C means the sensor is powered off.
TEMP_RE = re.compile(r"@(-?\d+(?:\.\d+)?)C(?:/(-?\d+(?:\.\d+)?)C)?(?=\s|$)")
# `NAME cur/avg` (mW without unit up to L4T R32), `NAME curmW/avgmW` (R35+) and
# `NAME cur/avg/max` in mW (JetPack 7.2).
RAIL_RE = re.compile(
    r" ([A-Z][A-Z0-9_]*) (\d+(?:\.\d+)?)(mW)?/(\d+(?:\.\d+)?)(?(3)mW)"
    r"(?:/(\d+(?:\.\d+)?)(?(3)mW))?(?=\s|$)"
)

SENSOR_OFF_C = -256.0
# Rails wired to nothing on the second INA3221 of AGX Orin; they carry no information.
UNCONNECTED_RAILS = frozenset({"NC"})
TO_MB = {"k": 1 / 1024, "M": 1, "G": 1024}
# The last token of a whole line is one of these complete values: a rail's `cur/avg[/max]`,
# a temperature `name@tC[/tC]`, a load `n%[@f]`, a clock `@f` or `@[f,...]`, a bare number,
# `off`, or the end of the CPU list. A line cut inside a name, after `@` or `/`, or inside a
# temperature fails this; one cut inside the last rail's digits cannot be told from a whole one.
FINAL_TOKEN_RE = re.compile(
    r"\d+(?:\.\d+)?(mW)?/\d+(?:\.\d+)?(?(1)mW)(?:/\d+(?:\.\d+)?(?(1)mW))?"
    r"|[A-Za-z]\w*@-?\d+(?:\.\d+)?C(?:/-?\d+(?:\.\d+)?C)?"
    r"|(?:\d+%)?(?:@(?:\d+|\[[\d,]*\]))?|\d+|off|.*\]"
)
MAX_CORES = 512
CPU_COLUMNS = [(f"cpu{i}_load_pct", f"cpu{i}_freq_mhz") for i in range(MAX_CORES)]


class _Names(dict):
    """Column names per printed name, built once: the same few names recur on every line."""

    def __init__(self, *templates):
        super().__init__()
        self.templates = templates

    def __missing__(self, name):
        low = name.lower()
        columns = tuple(t.format(low) for t in self.templates)
        self[name] = columns
        return columns


TEMP_COLUMNS = _Names("temp_{}_c", "temp_{}_max_c")
RAIL_COLUMNS = _Names("power_{}_mw", "power_{}_avg_mw", "power_{}_max_mw")
ENGINE_COLUMNS = _Names("{}_freq_mhz", "{}_load_pct")


def _mb(value: str, unit: str):
    """Return a size in MB: an int when the unit is MB, else a float."""
    return int(value) if unit == "M" else int(value) * TO_MB[unit]


def _number(text: str):
    """Return an int where the text is integral, else a float."""
    return float(text) if "." in text else int(text)


def _celsius(text: str):
    """Return a temperature in C, or None for a sensor that is powered off (-256 C)."""
    value = float(text)
    return None if value == SENSOR_OFF_C else value


def _max_of(array: str):
    """Return the highest clock of a per-GPC array like `1300,1300`, None if empty."""
    values = [int(v) for v in array.split(",") if v]
    return max(values) if values else None


def _starts_word(line: str, pos: int) -> bool:
    """Return whether a match at pos begins a word (not the tail of a longer name)."""
    return pos == 0 or line[pos - 1] == " "


def looks_complete(line: str) -> bool:
    """Return whether a raw line has the shape of one whole tegrastats sample."""
    # Every tegrastats format starts with RAM; a second RAM means two lines glued together,
    # unbalanced brackets or an odd last token mean the line was cut off.
    return (
        line.startswith("RAM ")
        and line.count("RAM ") - line.count("IRAM ") == 1
        and line.count("[") == line.count("]")
        and line.count("(") == line.count(")")
        and FINAL_TOKEN_RE.fullmatch(line, line.rfind(" ") + 1) is not None
    )


def split_stamps(line: str) -> tuple[str | None, str | None, str]:
    """Return (timestamp, board timestamp kept beside ours or None, the line after its stamps)."""
    # timestamp: our arrival stamp (UTC, same clock as epochs.csv) where the runner wrote one,
    # else the board's own stamp (local time, no zone) where tegrastats printed one.
    stamp = board_time = None
    if line[:1].isdigit():
        m = ARRIVAL_RE.match(line)
        if m:
            stamp = m.group(1)
            line = line[m.end():]
        m = BOARD_TIME_RE.match(line)
        if m:
            month, day, year, clock = m.groups()
            board_time = f"{year}-{month}-{day}T{clock}"
            line = line[m.end():]
    if stamp is None:
        return board_time, None, line
    return stamp, board_time, line


def parse_line(line: str) -> dict | None:
    """Return one tegrastats line as a dict of hw.csv columns, or None if it is not one."""
    stamp, board_time, body = split_stamps(line.strip())
    return _parse_body(body, stamp, board_time)


def _parse_body(line: str, stamp: str | None, board_time: str | None) -> dict | None:
    """Return the hw.csv columns of a line without its stamps, or None if it is not one."""
    row: dict = {"timestamp": stamp}
    if board_time is not None:
        row["board_timestamp"] = board_time
    if not looks_complete(line):
        return None

    m = RAM_RE.match(line)
    if m is None:
        return None
    used, total, unit, lfb_blocks, lfb_size, lfb_unit = m.groups()
    row["ram_used_mb"] = _mb(used, unit)
    row["ram_total_mb"] = _mb(total, unit)
    if lfb_blocks is not None:
        # Largest free block: lfb_blocks blocks of lfb_block_mb each (fragmentation).
        row["ram_lfb_blocks"] = int(lfb_blocks)
        row["ram_lfb_block_mb"] = _mb(lfb_size, lfb_unit)
    m = SWAP_RE.search(line)
    if m:
        used, total, unit, cached, cached_unit = m.groups()
        row["swap_used_mb"] = _mb(used, unit)
        row["swap_total_mb"] = _mb(total, unit)
        row["swap_cached_mb"] = _mb(cached, cached_unit)
    m = IRAM_RE.search(line)
    if m:
        row["iram_used_kb"] = int(m.group(1))
        row["iram_total_kb"] = int(m.group(2))
        row["iram_lfb_kb"] = int(m.group(3))

    m = CPU_RE.search(line)
    shared_freq = None
    if m is None:
        m = OLD_CPU_RE.search(line)
        if m is None:
            return None
        shared_freq = int(m.group(2))
    cores = CORE_RE.findall(m.group(1))
    if len(cores) != m.group(1).count(",") + 1:
        return None  # an entry that is neither `off` nor a load: not a CPU list we know
    for (load_col, freq_col), (off, load, freq) in zip(CPU_COLUMNS, cores):
        if off:
            # An offline core: empty values, so its column still lines up with its number.
            row[load_col] = row[freq_col] = None
        else:
            row[load_col] = int(load)
            row[freq_col] = int(freq) if freq else shared_freq

    m = EMC_RE.search(line)
    if m:
        load, freq = m.groups()
        row["emc_load_pct"] = int(load) if load is not None else None
        if freq is not None:
            row["emc_freq_mhz"] = int(freq)
    for m in GPU_RE.finditer(line):
        second, load, freq, array = m.groups()
        prefix = "gpu2" if second else "gpu"
        row[prefix + "_load_pct"] = int(load) if load is not None else None
        if freq is not None:
            row[prefix + "_freq_mhz"] = int(freq)
        elif array is not None:
            row[prefix + "_freq_mhz"] = _max_of(array)
    for m in ENGINE_RE.finditer(line):
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
    m = MTS_RE.search(line)
    if m:
        row["mts_fg_pct"] = int(m.group(1))
        row["mts_bg_pct"] = int(m.group(2))

    for m in TEMP_RE.finditer(line):
        at = m.start()
        name = line[line.rfind(" ", 0, at) + 1:at]
        if not name or not name[0].isalpha():
            continue
        cur, peak = m.groups()
        cur_col, max_col = TEMP_COLUMNS[name]
        row[cur_col] = _celsius(cur)
        if peak is not None:
            row[max_col] = _celsius(peak)
    for name, cur, _unit, avg, peak in RAIL_RE.findall(line):
        if name in UNCONNECTED_RAILS:
            continue
        cur_col, avg_col, max_col = RAIL_COLUMNS[name]
        row[cur_col] = _number(cur)
        row[avg_col] = _number(avg)
        if peak:
            row[max_col] = _number(peak)
    return row


def _iter_lines(path_or_lines):
    """Yield text lines from a path or from an iterable of lines."""
    if isinstance(path_or_lines, (str, os.PathLike)):
        with open(path_or_lines, encoding="utf-8", errors="replace") as handle:
            yield from handle
    else:
        yield from path_or_lines


# --- whole logs -------------------------------------------------------------------------
# A log holds hundreds of thousands of lines from one tegrastats process, laid out
# identically except for their numbers. parse_log therefore learns each layout once from a
# line parsed by name (parse_line's way), as one regex matching the whole line with a group
# per number, and reads the following lines of that layout with a single match; their
# numbers are converted column by column with numpy at the end. A line no known layout
# matches goes through the general parser, so results are the same either way (the tests
# compare both on every recorded line and on a synthetic log).

NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
PROBE, PROBE_DECIMAL = "987654", "98765.25"
STAMP_COLUMNS = ("timestamp", "board_timestamp")
MAX_LAYOUTS = 256  # beyond this many layouts in one log, learning stops: general path only
CHUNK_ROWS = 50_000


# Both stamps are captured by every layout's regex: groups 1 (ours) and 2-5 (the board's).
STAMPS_PATTERN = f"(?:{ARRIVAL_PATTERN})?(?:{BOARD_TIME_PATTERN})?"
STAMP_GROUPS = 5


class _Layout:
    """A line layout: its whole-line regex, what each captured number is, and its rows."""

    def __init__(self, body_pattern, sources, constants, keys):
        self.regex = re.compile(STAMPS_PATTERN + body_pattern)
        self.width = self.regex.groups
        self.sources = sources  # column -> (group index, "int" | "float" | "celsius")
        self.constants = constants  # column -> value fixed by the layout (e.g. an `off` core)
        self.keys = keys  # the columns in parse_line's order, stamps excluded
        self.last_key = keys[-1]
        self.positions: list[int] = []
        self.values: list = []  # every row's captured groups, flat: width values per row
        self.frames: list = []  # rows already converted, CHUNK_ROWS at a time

    def add(self, position: int, groups: tuple) -> None:
        """Record one row's captured groups, converting a full chunk to numbers."""
        self.positions.append(position)
        self.values.extend(groups)
        # Strings cost ~50 bytes each: converting every chunk keeps a million-line log
        # within a Jetson's memory.
        if len(self.positions) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        """Convert the rows recorded so far into a DataFrame chunk."""
        if self.positions:
            self.frames.append(self.frame())
            self.positions, self.values = [], []

    def _stamp_columns(self) -> dict:
        """Return the timestamp (and board_timestamp) columns, as split_stamps gives them."""
        width, values = self.width, self.values
        ours = values[0::width]
        board = [None if month is None else f"{year}-{month}-{day}T{clock}"
                 for month, day, year, clock in zip(values[1::width], values[2::width],
                                                     values[3::width], values[4::width])]
        columns = {"timestamp": [o if o is not None else b for o, b in zip(ours, board)]}
        if any(o is not None and b is not None for o, b in zip(ours, board)):
            columns["board_timestamp"] = [b if o is not None else None for o, b in zip(ours, board)]
        return columns

    def frame(self):
        """Return this layout's rows as a DataFrame indexed by their position in the log."""
        import numpy as np
        import pandas as pd

        n = len(self.positions)
        data = self._stamp_columns()
        for key in self.keys:
            if key in self.sources:
                group, kind = self.sources[key]
                # numpy parses the strings itself: one C loop per column, no Python per value.
                strings = self.values[STAMP_GROUPS + group::self.width]
                column = np.array(strings, dtype=np.int64 if kind == "int" else np.float64)
                if kind == "celsius":
                    column[column == SENSOR_OFF_C] = np.nan
                data[key] = column
            else:
                value = self.constants[key]
                data[key] = np.full(n, np.nan) if value is None else np.full(n, value)
        return pd.DataFrame(data, index=self.positions)


def _learn_layout(body: str) -> _Layout | None:
    """Return the layout of a line without stamps, or None where a number is not read as is."""
    base = _parse_body(body, None, None)
    keys = [key for key in base if key not in STAMP_COLUMNS]
    parts, sources, position = [], {}, 0
    for m in NUMBER_RE.finditer(body):
        text = m.group()
        probe = PROBE_DECIMAL if "." in text else PROBE
        # Change this one number and parse again: which columns follow it tells what it is.
        probed = _parse_body(body[: m.start()] + probe + body[m.end():], None, None)
        parts.append(re.escape(body[position: m.start()]))
        position = m.end()
        if probed is None or list(probed) != list(base):
            parts.append(re.escape(text))  # part of a name (VDD_4V0_WIFI, soc012, GR3D): fixed
            continue
        changed = [key for key in keys if probed[key] != base[key]]
        if not changed:
            parts.append(r"-?\d+(?:\.\d+)?")  # a number no column takes
            continue
        group = len(set(g for g, _ in sources.values()))
        any_float = False
        for key in changed:
            value = probed[key]
            is_float = isinstance(value, float)
            if key in sources or value != (float(probe) if is_float else int(probe)) or isinstance(value, bool):
                # Derived (a kB size in MB, the max of a clock array): left to the general parser.
                return None
            kind = ("celsius" if key.startswith("temp_") else "float") if is_float else "int"
            sources[key] = (group, kind)
            any_float = any_float or is_float
        parts.append(r"(-?\d+(?:\.\d+)?)" if any_float else r"(\d+)")
    parts.append(re.escape(body[position:]))
    constants = {key: base[key] for key in keys if key not in sources}
    return _Layout("".join(parts), sources, constants, keys)


def _coarse_shape(body: str) -> tuple[int, int, int]:
    """Return a cheap key that lines of one layout share (fields, off cores/engines, length class)."""
    return body.count(" "), body.count("off"), body.count("@")


def _cut_positions(last_keys: list[str], runs: list[int]) -> set[int]:
    """Return the row positions whose line was cut off at a field boundary, run by run."""
    # One tegrastats process prints the same fields on every line, rails last. A line cut
    # exactly between two fields still looks whole, but ends in an earlier field than the
    # others: its last column differs from the one most lines of its run end with.
    cut = set()
    bounds = runs + [len(last_keys)]
    for begin, end in zip(bounds, bounds[1:]):
        if end - begin < 3:
            continue
        usual, count = Counter(last_keys[begin:end]).most_common(1)[0]
        if count * 2 > end - begin:
            cut.update(i for i in range(begin, end) if last_keys[i] != usual)
    return cut


def numeric_columns(df):
    """Return df with every column but the stamps numeric (an always-empty one as float NaN)."""
    import pandas as pd

    for column in df.columns:
        if column not in STAMP_COLUMNS and df[column].dtype == object:
            df[column] = pd.to_numeric(df[column])
    return df


def parse_log(path_or_lines, *, profile=None, power_method="total"):
    """Return (hw DataFrame with one row per parsed line in order, count of skipped lines)."""
    import pandas as pd

    from edgebench.monitor.power import add_total_power

    layouts: list[_Layout] = []
    layouts_by_shape: dict[tuple, list[_Layout]] = {}
    rejected: set[str] = set()  # layouts (numbers blanked) that could not be learnt
    general: list[dict] = []
    general_positions: list[int] = []
    last_keys: list[str] = []
    runs = [0]  # positions where a tegrastats process (re)started
    skipped = 0
    current = None
    for line in _iter_lines(path_or_lines):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped[0] == "#":
            # Our own markers are not samples and not errors; a restart begins a new run.
            if stripped.startswith("# restart") and runs[-1] != len(last_keys):
                runs.append(len(last_keys))
            continue
        # The usual case: the line is laid out as the previous one, one match reads it all.
        m = current.regex.fullmatch(stripped) if current is not None else None
        if m is None:
            stamp, board_time, body = split_stamps(stripped)
            # Another layout: look among those with the same coarse shape only.
            for current in layouts_by_shape.get(_coarse_shape(body), ()):
                m = current.regex.fullmatch(stripped)
                if m is not None:
                    break
        if m is None:
            row = _parse_body(body, stamp, board_time)
            if row is None:
                skipped += 1
                current = None
                continue
            layout = None
            if len(layouts) < MAX_LAYOUTS:
                skeleton = NUMBER_RE.sub("#", body)
                if skeleton not in rejected:
                    layout = _learn_layout(body)
                    m = layout.regex.fullmatch(stripped) if layout is not None else None
                    if m is None:
                        rejected.add(skeleton)
                        layout = None
            if layout is None:
                last_keys.append(next(reversed(row)))
                general_positions.append(len(last_keys) - 1)
                general.append(row)
                current = None
                continue
            layouts.append(layout)
            layouts_by_shape.setdefault(_coarse_shape(body), []).append(layout)
            current = layout
        current.add(len(last_keys), m.groups())
        last_keys.append(current.last_key)

    for layout in layouts:
        layout.flush()
    frames = [frame for layout in layouts for frame in layout.frames]
    # Columns in the order they first appear in the log, as a row-by-row build has them.
    first_rows = [(frame.index[0], list(frame.columns)) for frame in frames]
    first_rows += list(zip(general_positions, general))
    if general:
        frames.append(pd.DataFrame.from_records(general, index=general_positions))
    if frames:
        df = pd.concat(frames, sort=False) if len(frames) > 1 else frames[0]
        # The chunks are copied into df: let them go before the next steps copy df again.
        frames.clear()
        for layout in layouts:
            layout.frames.clear()
        if not df.index.is_monotonic_increasing:
            df = df.sort_index()
        first_rows.sort(key=lambda pair: pair[0])
        columns = list(dict.fromkeys(key for _, keys in first_rows for key in keys))
        if columns != list(df.columns):
            df = df[columns]
        df = numeric_columns(df)
        cut = _cut_positions(last_keys, runs)
        if cut:
            df.drop(index=sorted(cut), inplace=True)
            skipped += len(cut)
        df.reset_index(drop=True, inplace=True)
    else:
        df = pd.DataFrame({"timestamp": []})
    df = add_total_power(df, profile, method=power_method, copy=False)
    return df, skipped


# --- running tegrastats ------------------------------------------------------------------


def utc_stamp() -> str:
    """Return the current wall-clock time as ISO-8601 UTC with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class TegrastatsRunner:
    """tegrastats as a subprocess whose lines are stamped on arrival and appended to a log."""

    def __init__(self, log_path, interval_ms: int = 1000, binary: str = "tegrastats"):
        self.log_path = Path(log_path)
        self.interval_ms = int(interval_ms)
        if self.interval_ms <= 0:
            raise ValueError(f"tegrastats interval must be a positive number of ms, not {interval_ms!r}")
        self.binary = binary
        self.process: subprocess.Popen | None = None
        self.lines_written = 0
        self._log = None
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def _resolve_binary(self) -> str:
        """Return the executable's path, or raise FileNotFoundError saying what is missing."""
        found = shutil.which(self.binary)
        if found is None:
            raise FileNotFoundError(
                f"tegrastats binary {self.binary!r} not found (PATH={os.environ.get('PATH', '')!r}); "
                "on a Jetson it ships with L4T as /usr/bin/tegrastats (L4T 28.x: ~/tegrastats)"
            )
        return found

    def start(self) -> "TegrastatsRunner":
        """Return self after starting tegrastats and the thread that stamps its lines."""
        if self.process is not None:
            raise RuntimeError(f"tegrastats runner for {self.log_path} already started")
        binary = self._resolve_binary()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        resumed = self.log_path.exists() and self.log_path.stat().st_size > 0
        # Append, never truncate: a resumed run keeps the samples of its earlier attempts.
        self._log = open(self.log_path, "a", encoding="utf-8")
        if resumed:
            self._write(f"# restart {utc_stamp()}\n")
        try:
            # No orphan is left if this process dies hard: our end of the pipe closes with it,
            # and tegrastats ends on its next write (SIGPIPE).
            self.process = subprocess.Popen(
                [binary, "--interval", str(self.interval_ms)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
                bufsize=1,
            )
        except OSError:
            self._log.close()
            raise
        self._threads = [
            threading.Thread(target=self._pump_stdout, name="tegrastats-stdout", daemon=True),
            threading.Thread(target=self._pump_stderr, name="tegrastats-stderr", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def _write(self, text: str) -> None:
        with self._lock:
            self._log.write(text)
            # Flushed per line so a crash of the training loses no sample already seen.
            self._log.flush()

    def _pump_stdout(self) -> None:
        for raw in self.process.stdout:
            stamp = utc_stamp()
            if raw.endswith("\n"):
                self._write(f"{stamp} {raw}")
                self.lines_written += 1
            elif raw.strip():
                # Output cut off when the process ended: kept for the record, not parsed.
                self._write(f"# partial {stamp} {raw}\n")

    def _pump_stderr(self) -> None:
        for raw in self.process.stderr:
            if raw.strip():
                self._write(f"# stderr {utc_stamp()} {raw.rstrip()}\n")

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """Return tegrastats' exit code after stopping it and closing the log."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for thread in self._threads:
            thread.join(timeout=timeout_s)
        self.process.stdout.close()
        self.process.stderr.close()
        with self._lock:
            self._log.close()
        code = self.process.returncode
        self.process = None
        return code

    def __enter__(self) -> "TegrastatsRunner":
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        # Stops also when the training raised; the exception then carries on unchanged.
        self.stop()


# --- command line ------------------------------------------------------------------------


def cli(argv) -> int:
    """Return an exit code after `edgebench parse-tegrastats LOG [-o OUT] ...`."""
    from edgebench.monitor.power import describe_total, load_profile

    parser = argparse.ArgumentParser(
        prog="edgebench parse-tegrastats",
        description="Parse a tegrastats log (raw or stamped hw.log) into hw.csv columns.",
    )
    parser.add_argument("log", help="tegrastats log file")
    parser.add_argument("-o", "--output", help="CSV to write (default: standard output)")
    parser.add_argument("--profile", help="device profile name (resources/profiles) or YAML path")
    parser.add_argument("--power-method", choices=["total", "thesis_sum"], default="total")
    args = parser.parse_args(argv)

    if not Path(args.log).is_file():
        print(f"parse-tegrastats: {args.log}: no such file", file=sys.stderr)
        return 2
    try:
        profile = load_profile(args.profile) if args.profile else None
    except (FileNotFoundError, ValueError) as error:
        print(f"parse-tegrastats: {error}", file=sys.stderr)
        return 2
    df, skipped = parse_log(args.log, profile=profile, power_method=args.power_method)
    if args.output:
        from edgebench.atomic import write_csv_atomic

        write_csv_atomic(df, args.output)
    else:
        df.to_csv(sys.stdout, index=False)
    print(f"parse-tegrastats: {len(df)} samples parsed, {skipped} lines skipped", file=sys.stderr)
    total = df.attrs.get("power_total")
    if total:
        print(f"parse-tegrastats: power_total_mw = {describe_total(total)}", file=sys.stderr)
    return 0
