"""tegrastats lines into hw.csv columns, every field found by name.

Every field is found by name with its own regular expression over the whole line, never by
position: tegrastats adds, drops and renames fields between boards and L4T releases (see
resources/profiles/*.yaml and the reference rails.md), and a positional parser silently
reads the wrong number when that happens. parse_line() is that parser.
"""

from __future__ import annotations

import re

# --- one regular expression per field family -------------------------------------------
# Patterns start with a literal where they can (no leading \b): the regex engine then jumps
# straight to candidate positions instead of trying every character, which is most of the
# parser's speed. Where a name must not match inside a longer word, the code checks the
# character before the match instead.

# Our own arrival stamp, written by TegrastatsRunner in front of every raw line.
ARRIVAL_RE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?) ")
# The stamp newer tegrastats (L4T R35+) prints itself, in the board's local time.
BOARD_TIME_RE = re.compile(r"(\d\d)-(\d\d)-(\d{4}) (\d\d:\d\d:\d\d) ")
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


def stamp_matches(line: str):
    """Return the matches of our arrival stamp and of the board's time at a line's start."""
    if not line[:1].isdigit():
        return None, None
    ours = ARRIVAL_RE.match(line)
    return ours, BOARD_TIME_RE.match(line, ours.end() if ours else 0)


def split_stamps(line: str) -> tuple[str | None, str | None, str]:
    """Return (timestamp, board timestamp kept beside ours or None, the line after its stamps)."""
    # timestamp: our arrival stamp (UTC, same clock as epochs.csv) where the runner wrote one,
    # else the board's own stamp (local time, no zone) where tegrastats printed one.
    ours, board = stamp_matches(line)
    board_time = None
    if board:
        month, day, year, clock = board.groups()
        board_time = f"{year}-{month}-{day}T{clock}"
    last = board or ours
    body = line[last.end():] if last else line
    if ours is None:
        return board_time, None, body
    return ours.group(1), board_time, body


def parse_line(line: str) -> dict | None:
    """Return one tegrastats line as a dict of hw.csv columns, or None if it is not one."""
    stamp, board_time, body = split_stamps(line.strip())
    return parse_body(body, stamp, board_time)


def parse_body(line: str, stamp: str | None, board_time: str | None) -> dict | None:
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


