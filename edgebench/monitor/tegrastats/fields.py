"""The tegrastats field grammar: what each field looks like, and the hw.csv columns it fills.

Every field is found by name with its own regular expression over the whole line, never by
position: tegrastats adds, drops and renames fields between boards and L4T releases (see
resources/boards/*.yaml, and NVIDIA's Jetson Linux Developer Guide, "tegrastats Utility"),
and a positional parser silently reads the wrong number when that happens. This module only
describes the fields; reference.py reads a line with them.
"""

from __future__ import annotations

import re

# --- pieces several fields share ---------------------------------------------------------
# Patterns start with a literal where they can (no leading \b): the regex engine then jumps
# straight to candidate positions instead of trying every character, which is most of the
# parser's speed. Where a name must not match inside a longer word, the reader checks the
# character before the match instead.

DECIMAL = r"\d+(?:\.\d+)?"
NUMBER = r"-?" + DECIMAL  # every number a field prints is of this form (the fast path relies on it)
NAME = r"[A-Z][A-Z0-9_]*"  # a rail's or clock's name
END = r"(?=\s|$)"  # a field ends at whitespace or at the end of the line
# A frequency is one clock or, since JetPack 6, an array with one clock per GPC: `@[621]`,
# `@[0,0,0]`. Group 1: the clock; group 2: the array's contents.
FREQ = r"(?:(\d+)|\[([\d,]*)\])"
CORE_LIST = r"\[([^\]]*)\]"  # the CPU list's cores, between its brackets
SHARED_FREQ = r"(?:@(\d+))?"  # up to L4T R24, one frequency after the list for all cores
# `cur/avg` in mW without unit (up to L4T R32), `curmW/avgmW` (R35+), `cur/avg/max` in mW
# (JetPack 7.2). Groups: cur, the unit (named mw, so that the avg and max follow it), avg, max.
RAIL_VALUES = rf"({DECIMAL})(?P<mw>mW)?/({DECIMAL})(?(mw)mW)(?:/({DECIMAL})(?(mw)mW))?"
# `tC`, and since JetPack 7.2 `curC/maxC`. Groups: cur, max.
TEMP_VALUES = rf"({NUMBER})C(?:/({NUMBER})C)?"


def _bare(pattern: str) -> str:
    """Return a piece above with its numbered groups made non-capturing.

    Where a token is only tested against a piece, a group would cost time on every line for a
    value nobody reads. Escapes, `(?...` groups (a named one may be referred to) and the
    condition of `(?(name)...)` stay as they are; the pieces hold no `(` in a character class.
    """
    return re.sub(r"\\.|\(\?\(|\((?!\?)", lambda m: "(?:" if m.group() == "(" else m.group(), pattern)


# --- one regular expression per field family -------------------------------------------

# Our own arrival stamp, written by TegrastatsRunner in front of every raw line.
ARRIVAL_RE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?) ")
# The stamp newer tegrastats (L4T R35+) prints itself, in the board's local time: MM-DD-YYYY.
BOARD_TIME_RE = re.compile(r"(\d\d)-(\d\d)-(\d{4}) (\d\d:\d\d:\d\d) ")
# The board's stamp as ISO 8601 (YYYY-MM-DDThh:mm:ss): BOARD_TIME_RE's groups by number, and
# the text between them.
BOARD_TIME_ISO = (3, "-", 1, "-", 2, "T", 4)
RAM_RE = re.compile(r"RAM (\d+)/(\d+)([kMG])B(?: ?\(lfb (\d+)x(\d+)([kMG])B\))?")
SWAP_RE = re.compile(r"SWAP (\d+)/(\d+)([kMG])B ?\(cached (\d+)([kMG])B\)")
IRAM_RE = re.compile(r"IRAM (\d+)/(\d+)kB ?\(lfb (\d+)kB\)")
CPU_RE = re.compile("CPU " + CORE_LIST)
# Before L4T R28.2 the list was lower-case: up to R24 all cores shared one frequency after it
# (`cpu [48%,off]@1734`), in R27/R28.1 each core had its own (`cpu [0%@1996,0%@2035]`).
OLD_CPU_RE = re.compile("cpu " + CORE_LIST + SHARED_FREQ)
CORE_RE = re.compile(r"(off)|(\d+)%(?:@(\d+))?")
EMC_RE = re.compile(r"EMC(?:_FREQ)? (?:(\d+)%)?(?:@(\d+))?")
# GR3D (the GPU), GR3D2 (Orin's second GPC group on some builds) and GR3D_PCI (a discrete GPU
# on PCIe, printed by L4T R27/R28.1 beside the integrated one).
GPU_RE = re.compile(r"GR3D(2|_PCI)?(?:_FREQ)? (?:(\d+)%)?(?:@" + FREQ + ")?" + END)
# Accelerator engines: `NVENC 716`, `NVDEC off`, `NVENC0_FREQ @0`, `VIC_FREQ 729`,
# `AVP 70%@12`, `PVA0_FREQ off`. A value of `off` means clock-gated: empty frequency.
ENGINE_RE = re.compile(
    r"(APE|AVP|VDE|MSENC|NVENC\d?|NVDEC\d?|NVJPG\d?|VIC|OFA|NVDLA\d?|PVA\d?)(?:_FREQ)? "
    r"(?:(off)|(?:(\d+)%)?@?" + FREQ + ")" + END
)
MTS_RE = re.compile(r"MTS fg (\d+)% bg (\d+)%")
# Up to L4T R24: the CPU frequency cap the EDP (electrical design point) allowed, in MHz.
EDP_NAME = "EDP limit"
EDP_RE = re.compile(EDP_NAME + r" (\d+)")
# `name@` and the values; the name is the text before the `@` (the reader takes it from there).
TEMP_RE = re.compile("@" + TEMP_VALUES + END)
RAIL_RE = re.compile(" (" + NAME + ") " + RAIL_VALUES + END)

SENSOR_OFF_C = -256.0  # a temperature sensor that is powered off prints -256 C
# Rails wired to nothing on the second INA3221 of AGX Orin; they carry no information.
UNCONNECTED_RAILS = frozenset({"NC"})
TO_MB = {"k": 1 / 1024, "M": 1, "G": 1024}

# --- the last field of a whole line ------------------------------------------------------
# tegrastats ends a line with one of these fields, each with its whole value: a rail
# `NAME cur/avg[/max]`, a temperature `name@tC[/tC]`, a clock or load `NAME off|n%|n%@f|@f|f`
# (EMC, GR3D, the engines), `MTS fg n% bg n%`, `EDP limit f`, or the CPU list (a line without
# root on L4T R27/R28.1). Each is matched against the line's last whitespace-separated tokens
# (reference.line_ending says what a line that ends otherwise is).
NAME_TOKEN_RE = re.compile(NAME)
RAIL_VALUE_RE = re.compile(_bare(RAIL_VALUES))
TEMP_FIELD_RE = re.compile(r"([A-Za-z]\w*)@" + _bare(TEMP_VALUES))
CLOCK_VALUE_RE = re.compile(r"off|(?:\d+%)?@" + _bare(FREQ) + r"|\d+%?")
CPU_LIST_RE = re.compile(_bare(CORE_LIST + SHARED_FREQ))
LAST_TOKENS = 5  # MTS fg n% bg n%: the longest of these fields, 5 tokens

# --- markers of ours ---------------------------------------------------------------------
# TegrastatsRunner writes lines of its own into the log, each starting with MARKER: they are
# neither samples nor errors. A restart marker means a new tegrastats process from there on.
MARKER = "#"
RESTART_MARKER = "# restart"

# --- hw.csv columns ----------------------------------------------------------------------
# timestamp: our arrival stamp where the runner wrote one, else the board's own stamp;
# board_timestamp: the board's stamp, kept beside ours where a line has both.
TIMESTAMP, BOARD_TIMESTAMP = STAMP_COLUMNS = ("timestamp", "board_timestamp")
MAX_CORES = 512
CPU_COLUMNS = [(f"cpu{i}_load_pct", f"cpu{i}_freq_mhz") for i in range(MAX_CORES)]
GPU_PREFIXES = {None: "gpu", "2": "gpu2", "_PCI": "gpu_pci"}  # by GPU_RE's group 1


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


TEMP_PREFIX = "temp_"  # every temperature column's, and only theirs
TEMP_COLUMNS = _Names(TEMP_PREFIX + "{}_c", TEMP_PREFIX + "{}_max_c")
RAIL_COLUMNS = _Names("power_{}_mw", "power_{}_avg_mw", "power_{}_max_mw")
ENGINE_COLUMNS = _Names("{}_freq_mhz", "{}_load_pct")


def stamp_matches(line: str):
    """Return the matches of our arrival stamp and of the board's time at a line's start."""
    if not line[:1].isdigit():
        return None, None
    ours = ARRIVAL_RE.match(line)
    return ours, BOARD_TIME_RE.match(line, ours.end() if ours else 0)
