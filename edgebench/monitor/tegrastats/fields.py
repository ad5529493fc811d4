"""tegrastats lines into hw.csv columns, every field found by name.

Every field is found by name with its own regular expression over the whole line, never by
position: tegrastats adds, drops and renames fields between boards and L4T releases (see
resources/profiles/*.yaml and the reference rails.md), and a positional parser silently
reads the wrong number when that happens. parse_line() is that parser.
"""

from __future__ import annotations

import re
from collections import Counter

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
# Before L4T R28.2 the list was lower-case: up to R24 all cores shared one frequency after it
# (`cpu [48%,off]@1734`), in R27/R28.1 each core had its own (`cpu [0%@1996,0%@2035]`).
OLD_CPU_RE = re.compile(r"cpu \[([^\]]*)\](?:@(\d+))?")
CORE_RE = re.compile(r"(off)|(\d+)%(?:@(\d+))?")
EMC_RE = re.compile(r"EMC(?:_FREQ)? (?:(\d+)%)?(?:@(\d+))?")
# GR3D (the GPU), GR3D2 (Orin's second GPC group on some builds) and GR3D_PCI (a discrete GPU
# on PCIe, printed by L4T R27/R28.1 beside the integrated one). The frequency is one number,
# or since JetPack 6 an array with one clock per GPC: `@[621]`, `@[0,0,0]`.
GPU_RE = re.compile(r"GR3D(2|_PCI)?(?:_FREQ)? (?:(\d+)%)?(?:@(?:(\d+)|\[([\d,]*)\]))?(?=\s|$)")
GPU_PREFIXES = {None: "gpu", "2": "gpu2", "_PCI": "gpu_pci"}
# Accelerator engines: `NVENC 716`, `NVDEC off`, `NVENC0_FREQ @0`, `VIC_FREQ 729`,
# `AVP 70%@12`, `PVA0_FREQ off`. A value of `off` means clock-gated: empty frequency.
ENGINE_RE = re.compile(
    r"(APE|AVP|VDE|MSENC|NVENC\d?|NVDEC\d?|NVJPG\d?|VIC|OFA|NVDLA\d?|PVA\d?)(?:_FREQ)? "
    r"(?:(off)|(?:(\d+)%)?@?(?:(\d+)|\[([\d,]*)\]))(?=\s|$)"
)
MTS_RE = re.compile(r"MTS fg (\d+)% bg (\d+)%")
# Up to L4T R24: the CPU frequency cap the EDP (electrical design point) allowed, in MHz.
EDP_RE = re.compile(r"EDP limit (\d+)")
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
# --- the last field of a whole line ------------------------------------------------------
# tegrastats ends a line with one of these fields, each with its whole value: a rail
# `NAME cur/avg[/max]` (mW, with or without the unit), a temperature `name@tC[/tC]`, a clock
# or load `NAME off|n%|n%@f|@f|f` (EMC, GR3D, the engines; `f` may be `[f,...]`), `MTS fg n%
# bg n%`, `EDP limit f`, or the CPU list (a line without root on L4T R27/R28.1). A line cut
# inside a name, after `@` or `/`, or inside a temperature fails these. One cut between two
# fields, or inside the digits of a number that ends a field, still ends in a whole field:
# only its neighbours tell (usual_ending below). One cut inside the digits the whole line ends
# with (`VDD_SYS_DDR 557/60` of `557/601`) cannot be told by anything.
NAME_TOKEN_RE = re.compile(r"[A-Z][A-Z0-9_]*")
RAIL_VALUE_RE = re.compile(r"\d+(?:\.\d+)?(mW)?/\d+(?:\.\d+)?(?(1)mW)(?:/\d+(?:\.\d+)?(?(1)mW))?")
TEMP_FIELD_RE = re.compile(r"([A-Za-z]\w*)@-?\d+(?:\.\d+)?C(?:/-?\d+(?:\.\d+)?C)?")
CLOCK_VALUE_RE = re.compile(r"off|(?:\d+%)?@(?:\d+|\[[\d,]*\])|\d+%?")
CPU_LIST_RE = re.compile(r"\[[^\]]*\](?:@\d+)?")
PERCENT_RE = re.compile(r"\d+%")
# A run of lines shorter than this has no usual ending: its lines are judged alone.
MIN_RUN_LINES = 3
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
    return _last_field(line.rsplit(None, 5))  # MTS fg n% bg n%: the longest field, 5 tokens


def _last_field(tokens: list[str]) -> tuple | None:
    """Return (kind, name, values) of the whole field a line's last tokens end with, else None.

    values tells a field cut short from a whole one of the same name where both look whole:
    a rail's count of values (`cur/avg` of `cur/avg/max`), a temperature's (`cur` of `cur/max`),
    whether a clock's or the CPU list's frequency is there (`0%` of `0%@76`).
    """
    last = tokens[-1]
    m = TEMP_FIELD_RE.fullmatch(last)
    if m:
        return "temp", m.group(1), last.count("/")
    if len(tokens) < 2:
        return None
    name = tokens[-2]
    if RAIL_VALUE_RE.fullmatch(last):
        return ("rail", name, last.count("/")) if NAME_TOKEN_RE.fullmatch(name) else None
    if name in ("CPU", "cpu"):
        return ("cpu", "CPU", last[-1] != "]") if CPU_LIST_RE.fullmatch(last) else None
    if not CLOCK_VALUE_RE.fullmatch(last):
        return None
    if NAME_TOKEN_RE.fullmatch(name):
        return "clock", name, "@" in last
    if tokens[-3:-1] == ["EDP", "limit"]:
        return "edp", "EDP", 1
    mts = tokens[-5:-1] == ["MTS", "fg", tokens[-3], "bg"]
    if mts and PERCENT_RE.fullmatch(tokens[-3]) and last[-1] == "%":
        return "mts", "MTS", 2
    return None


def usual_ending(counts: dict, lines: int):
    """Return the ending more than half of a run's lines have, or None (no usual ending)."""
    # One tegrastats process prints the same fields on every line, in the same order. A line
    # cut between two fields, or inside the digits that end one (`EMC_FREQ 42%@186`), looks
    # whole alone but lacks the fields its neighbours all have: it ends in another field than
    # most lines of its run, and is cut. Both readers (read_lines, parse_log) judge by this.
    if lines < MIN_RUN_LINES or not counts:
        return None
    ending, count = max(counts.items(), key=lambda item: item[1])
    return ending if count * 2 > lines else None


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


def read_lines(lines) -> tuple[list[dict], int]:
    """Return (rows, count of skipped lines) of a log's lines, read one at a time by parse_line's parser.

    The single-line reader: each line is judged alone as parse_line judges it, then beside
    its run's lines as parse_log judges it (usual_ending), so that both readers keep and skip
    the same lines. Our `#` markers are neither rows nor skips; `# restart` begins a new run.
    """
    rows, endings, runs, skipped = [], [], [0], 0
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if line[0] == "#":
            if line.startswith("# restart") and runs[-1] != len(rows):
                runs.append(len(rows))
            continue
        stamp, board_time, body = split_stamps(line)
        read = read_body(body, stamp, board_time)
        if read is None:
            skipped += 1
        else:
            rows.append(read[0])
            endings.append(read[1])
    kept = []
    for begin, end in zip(runs, runs[1:] + [len(rows)]):
        usual = usual_ending(Counter(endings[begin:end]), end - begin)
        kept += [row for row, ending in zip(rows[begin:end], endings[begin:end]) if usual in (None, ending)]
    return kept, skipped + len(rows) - len(kept)


def read_body(line: str, stamp: str | None, board_time: str | None) -> tuple[dict, tuple] | None:
    """Return (hw.csv columns, line_ending) of a line without its stamps, or None if not a sample."""
    ending = line_ending(line)
    if ending is None:
        return None
    row: dict = {"timestamp": stamp}
    if board_time is not None:
        row["board_timestamp"] = board_time

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
        if m.group(2) is not None:
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
        which, load, freq, array = m.groups()
        prefix = GPU_PREFIXES[which]
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
    m = EDP_RE.search(line)
    if m:
        row["edp_limit_mhz"] = int(m.group(1))

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
    return row, ending


