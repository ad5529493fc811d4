"""Whole tegrastats logs into an hw.csv DataFrame, fast: parse_log(), and its command line."""

from __future__ import annotations

import argparse
import os
import re
import sys
from itertools import islice, repeat
from pathlib import Path

from edgebench.monitor.tegrastats.fields import (
    SENSOR_OFF_C,
    parse_body,
    read_body,
    split_stamps,
    stamp_matches,
    usual_ending,
)

# --- whole logs -------------------------------------------------------------------------
# A log holds hundreds of thousands of lines from one tegrastats process, laid out
# identically except for their numbers. parse_log therefore learns each layout once from a
# line parsed by name (parse_line's way): which of its numbers belong to a name, and which
# column each other number fills. It then reads the log in blocks of about a MiB with numpy
# over each block's bytes (a regex match or any Python work per line would cost several
# times more than all the rest): each line is reduced to its skeleton, every run of digits
# replaced by one 0; a line whose skeleton is a known form of a layout has its digit runs
# turned into numbers, column by column for the whole block; only the other lines (markers,
# garbage, the first line of a new form, odd numbers) go through the general parser, one by
# one. Results are the same either way (the tests compare both on every recorded line and
# on synthetic logs, with every learnt layout and with none), and so is the judgement of
# lines cut off: each line is judged alone as parse_line judges it, then beside its run's
# lines as read_lines judges it (fields.usual_ending), and a line cut off is counted skipped.

NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
PROBE, PROBE_DECIMAL = "987654", "98765.25"
STAMP_COLUMNS = ("timestamp", "board_timestamp")
MAX_LAYOUTS = 256  # beyond this many layouts in one log, learning stops: general path only
# A block is about 2,500 TX2 lines: numpy's cost per call is spread over many lines, and
# the block's arrays stay in the CPU's cache (4 MiB blocks were 20% slower).
BLOCK_BYTES = 1 << 20  # read from a file at a time
BLOCK_LINES = 2_500  # taken from an iterable of lines at a time
# Runs up to this long are read exactly by _run_values (8 digits at most), and a decimal of
# two of them stays below 2**53, exact as a float. A line with a longer run: general parser.
MAX_DIGITS = 7
DIGIT_RUN_RE = re.compile(r"[0-9]+")
# NUMBER_RE's numbers as they look in a skeleton: group 1 is a sign, group 2 a fraction.
SKELETON_NUMBER_RE = re.compile(r"(-?)0(\.0)?")
UNSEEN = -2  # a skeleton not met yet (-1: its lines go through the general parser)


class _Slot:
    """A number of a layout that is a value: the columns it fills and the form it may take."""

    def __init__(self, columns):
        self.columns = columns  # ((column, "int" | "float" | "celsius"), ...); () for none
        # A number no column takes, or one a float column takes, may carry a sign and a fraction.
        self.decimal = not columns or any(kind != "int" for _, kind in columns)


class _Layout:
    """A line layout: what each number of the line (NUMBER_RE's) is, and its fixed columns."""

    def __init__(self, numbers, constants, keys, ending):
        self.numbers = numbers  # per number: its text where it is part of a name, else a _Slot
        self.constants = constants  # column -> value fixed by the layout (e.g. an `off` core)
        self.keys = keys  # the columns in parse_line's order, stamps excluded
        # The field its lines end with (line_ending): the same for every line of the layout,
        # as its names and the characters between its numbers are.
        self.ending = ending

    def accepts(self, texts: list[str]) -> bool:
        """Return whether a line of this shape with these numbers is of this layout."""
        return len(texts) == len(self.numbers) and all(
            text == role if isinstance(role, str) else role.decimal or text.isdecimal()
            for text, role in zip(texts, self.numbers)
        )


def _learn_layout(body: str) -> _Layout | None:
    """Return the layout of a line without stamps, or None where a number is not read as is."""
    base, ending = read_body(body, None, None)
    keys = [key for key in base if key not in STAMP_COLUMNS]
    numbers, taken = [], set()
    for m in NUMBER_RE.finditer(body):
        text = m.group()
        probe = PROBE_DECIMAL if "." in text else PROBE
        # Change this one number and parse again: which columns follow it tells what it is.
        probed = parse_body(body[: m.start()] + probe + body[m.end():], None, None)
        if probed is None or list(probed) != list(base):
            numbers.append(text)  # part of a name (VDD_4V0_WIFI, soc012, GR3D): fixed
            continue
        columns = []
        for key in keys:
            value = probed[key]
            if value == base[key]:
                continue
            is_float = isinstance(value, float)
            as_is = float(probe) if is_float else int(probe) if probe == PROBE else None
            if key in taken or value != as_is or isinstance(value, bool):
                # Derived (a kB size in MB, the max of a clock array, a decimal read as an
                # int): left to the general parser.
                return None
            taken.add(key)
            columns.append((key, ("celsius" if key.startswith("temp_") else "float") if is_float else "int"))
        numbers.append(_Slot(tuple(columns)))
    constants = {key: base[key] for key in keys if key not in taken}
    return _Layout(numbers, constants, keys, ending)


class _Scratch:
    """Arrays reused from block to block: a fresh large one costs a page fault per 4 KiB
    each time (the allocator hands it back to the system), more than the work done in it."""

    def __init__(self):
        self.arrays = {}

    def array(self, name, size, dtype):
        import numpy as np

        array = self.arrays.get(name)
        if array is None or len(array) < size:
            array = self.arrays[name] = np.empty(size + size // 4, dtype)
        return array[:size]


class _Block:
    """A block of log lines as bytes: its digit runs, and each line's skeleton."""

    def __init__(self, data: bytes, errors: str, scratch: _Scratch):
        import numpy as np

        self.errors = errors  # how a line's bytes decode, as the log was read
        # A newline in front puts one before every line; 16 zeros after the text keep the
        # 8-byte reads of _run_values inside the buffer.
        buf = scratch.array("buf", len(data) + 18, np.uint8)
        buf[0] = buf[-17] = 10
        buf[1:-17] = np.frombuffer(data, np.uint8)
        buf[-16:] = 0
        text = buf[:-16]
        work = scratch.array("work", len(buf), np.uint8)
        is_digit = scratch.array("is_digit", len(buf), bool)
        np.less(np.subtract(buf, 48, out=work), 10, out=is_digit)  # uint8 wraps: b"0"-b"9" only
        change = scratch.array("change", len(buf) - 1, bool)
        edges = np.flatnonzero(np.not_equal(is_digit[1:], is_digit[:-1], out=change))
        edges += 1
        starts = scratch.array("starts", len(edges) // 2, np.intp)
        starts[:] = edges[0::2]
        lengths = np.subtract(edges[1::2], starts, out=scratch.array("lengths", len(starts), np.intp))
        self.newlines = np.flatnonzero(np.equal(text, 10, out=change[: len(text)]))
        self.line_starts = self.newlines[:-1] + 1
        self.first_run = np.searchsorted(starts, self.line_starts)  # each line's first digit run
        self.buf, self.starts, self.lengths, self.scratch = buf, starts, lengths, scratch

        digits = is_digit[: len(text)]
        keep = scratch.array("keep", len(text), bool)  # all but a run's second and later digits
        keep[0] = True
        np.logical_not(np.logical_and(digits[1:], digits[:-1], out=keep[1:]), out=keep[1:])
        # Clearing a digit's low four bits makes it a 0.
        zeros = np.invert(np.multiply(digits, np.uint8(15), out=work[: len(text)]), out=work[: len(text)])
        # The lines' skeletons, each after a newline, and a newline at the end.
        self.skeleton_bytes = np.bitwise_and(text, zeros, out=zeros)[keep]
        self._skeletons = self._values = None

    def __len__(self) -> int:
        return len(self.newlines) - 1

    @property
    def skeletons(self) -> list[str]:
        """Each line's skeleton."""
        if self._skeletons is None:
            self._skeletons = self.skeleton_bytes.tobytes().decode("utf-8", self.errors).split("\n")[1:-1]
        return self._skeletons

    def all_of(self, skeleton: bytes) -> bool:
        """Return whether every line of the block has this skeleton."""
        import numpy as np

        row = len(skeleton) + 1
        if len(self.skeleton_bytes) != len(self) * row + 1:
            return False
        lines = self.skeleton_bytes[1:].reshape(len(self), row)
        return bool((lines == np.frombuffer(skeleton + b"\n", np.uint8)).all())

    def line(self, i) -> str:
        return self.buf[self.newlines[i] + 1: self.newlines[i + 1]].tobytes().decode("utf-8", self.errors)

    def lines_with_long_runs(self):
        """Return the lines with a digit run too long for the fast path."""
        import numpy as np

        long_runs = self.starts[self.lengths > MAX_DIGITS]
        return np.searchsorted(self.line_starts, long_runs, side="right") - 1

    @property
    def values(self):
        """The value of each digit run."""
        if self._values is None:
            self._values = _run_values(self.buf, self.starts, self.lengths, self.scratch)
        return self._values


def _run_values(buf, starts, lengths, scratch):
    """Return the value of each digit run of buf (exact for runs of up to 8 digits)."""
    import numpy as np

    n = len(starts)
    # The 8 bytes from each run's start as one little-endian integer (first digit lowest),
    # put together from the two aligned words they overlap: a gather of unaligned 8-byte
    # words takes numpy's slow path, twice as long.
    words = buf[: len(buf) // 8 * 8].view("<u8")
    word = scratch.array("word", n, np.intp)
    x = np.take(words, np.right_shift(starts, 3, out=word), out=scratch.array("values", n, np.uint64), mode="clip")
    word += 1
    # (take into a reused array, with mode="clip" as only then it does not buffer its output)
    high = np.take(words, word, out=scratch.array("high", n, np.uint64), mode="clip")
    bits = np.left_shift(np.bitwise_and(starts, 7, out=word), 3, out=word).view(np.uint64)
    x >>= bits
    high <<= 56 - bits  # then by 8 more: 64 bits in all are more than a shift may take
    high <<= 8
    x |= high
    # Shifted up so that the run's digits fill the top bytes and zeros (leading 0s) the rest;
    # then the usual SWAR parse adds neighbours: digit pairs, then fours, then all eight.
    shift = np.minimum(lengths, 8, out=scratch.array("shift", n, np.intp))
    shift -= 8
    shift *= -8
    x <<= shift.view(np.uint64)
    x &= 0x0F0F0F0F0F0F0F0F
    x *= 10 << 8 | 1
    x >>= 8
    x &= 0x00FF00FF00FF00FF
    x *= 100 << 16 | 1
    x >>= 16
    x &= 0x0000FFFF0000FFFF
    x *= 10000 << 32 | 1
    x >>= 32
    return x.view(np.int64)


class _Form:
    """A layout as printed with one skeleton: which digit runs of its lines hold what.

    Lines with one skeleton have their digit runs in the same places between the same
    characters; the skeleton leaves open only each run's digits. A line of the skeleton is
    of the form where its stamps' runs are as long as the first line's (the stamp patterns
    count digits) and its name digits are the layout's: it then reads as the layout does.
    """

    def __init__(self, layout: _Layout, stamps: str, skeleton: str):
        import numpy as np

        self.layout = layout
        # (run index in the line, length, value or None): runs whose length, and value where
        # given, every line of the form has.
        pinned = [(i, len(digits), None) for i, digits in enumerate(DIGIT_RUN_RE.findall(stamps))]
        self.columns = {}  # column -> (kind, run, fraction's run or None, negative)
        run = len(pinned)
        for m, role in zip(SKELETON_NUMBER_RE.finditer(skeleton), layout.numbers):
            negative, fraction = m.group(1) == "-", m.group(2) is not None
            if isinstance(role, str):
                digit_runs = DIGIT_RUN_RE.findall(role)
                pinned += [(run + i, len(digits), int(digits)) for i, digits in enumerate(digit_runs)]
            else:
                for column, kind in role.columns:
                    self.columns[column] = (kind, run, run + 1 if fraction else None, negative)
            run += 1 + fraction
        self.pinned_runs = np.array([i for i, _, _ in pinned], dtype=np.intp)
        self.pinned_lengths = np.array([length for _, length, _ in pinned], dtype=np.intp)
        self.fixed_runs = np.array([i for i, _, value in pinned if value is not None], dtype=np.intp)
        self.fixed_values = np.array([value for _, _, value in pinned if value is not None], dtype=np.int64)
        ours, board = stamp_matches(stamps)
        self.ours = ours.span(1) if ours else None  # our stamp's (start, end) in the line
        # the (start, end) of the board time's month, day, year and clock
        self.board = [board.span(group) for group in (1, 2, 3, 4)] if board else None

    @staticmethod
    def make(layout: _Layout, line: str, body: str) -> _Form | None:
        """Return the form of a line of this layout, or None where its skeleton cannot tell it."""
        stamps = line[: len(line) - len(body)]
        skeleton = DIGIT_RUN_RE.sub("0", body)
        # The skeleton must show the numbers NUMBER_RE finds (not so where a digit is not
        # ASCII), and an int column's number cannot have a fraction.
        if not stamps.isascii() or SKELETON_NUMBER_RE.sub("#", skeleton) != NUMBER_RE.sub("#", body):
            return None
        for m, role in zip(SKELETON_NUMBER_RE.finditer(skeleton), layout.numbers):
            if m.group(2) and not isinstance(role, str) and any(kind == "int" for _, kind in role.columns):
                return None
        return _Form(layout, stamps, skeleton)

    def matches(self, block: _Block, lines):
        """Return which of these lines of the block (of this form's skeleton) are of the form."""
        runs = block.first_run[lines][:, None]
        ok = (block.lengths[runs + self.pinned_runs] == self.pinned_lengths).all(axis=1)
        return ok & (block.values[runs + self.fixed_runs] == self.fixed_values).all(axis=1)

    def columns_of(self, block: _Block, lines) -> dict:
        """Return the columns of these lines of the block, as parse_line gives them."""
        import numpy as np

        n, first_run, line_starts = len(lines), block.first_run[lines], block.line_starts[lines]
        values = block.values
        ours = _stamp_texts(block.buf, line_starts, [self.ours]) if self.ours else None
        board = None
        if self.board:
            month, day, year, clock = self.board
            board = _stamp_texts(block.buf, line_starts, [year, b"-", month, b"-", day, b"T", clock])
        data = {"timestamp": ours if ours is not None else board if board is not None else np.full(n, None)}
        if ours is not None and board is not None:
            data["board_timestamp"] = board
        powers = 10 ** np.arange(MAX_DIGITS + 1, dtype=np.int64)
        for key in self.layout.keys:
            if key not in self.columns:
                value = self.layout.constants[key]
                data[key] = np.full(n, np.nan) if value is None else np.full(n, value)
                continue
            kind, run, fraction, negative = self.columns[key]
            column = values[first_run + run]
            if kind != "int":
                if fraction is None:
                    column = column.astype(np.float64)
                else:
                    # One division of two exact numbers: rounded once, as float() rounds.
                    places = powers[block.lengths[first_run + fraction]]
                    column = (column * places + values[first_run + fraction]) / places.astype(np.float64)
            if negative:
                column = -column
            if kind == "celsius":
                column[column == SENSOR_OFF_C] = np.nan
            data[key] = column
        return data


def _stamp_texts(buf, line_starts, pieces):
    """Return, per line, the string joining these (start, end) spans of it and literal bytes."""
    import numpy as np

    width = sum(len(piece) if isinstance(piece, bytes) else piece[1] - piece[0] for piece in pieces)
    chars = np.empty((len(line_starts), width + 1), np.uint8)
    chars[:, width] = 10
    at = 0
    for piece in pieces:
        if isinstance(piece, bytes):
            chars[:, at: at + len(piece)] = np.frombuffer(piece, np.uint8)
            at += len(piece)
        else:
            begin, end = piece
            # Every `end - begin` bytes of buf from any offset, as rows: one gather copies them.
            spans = np.ndarray((len(buf) - end + begin + 1, end - begin), np.uint8, buf, strides=(1, 1))
            chars[:, at: at + end - begin] = spans[line_starts + begin]
            at += end - begin
    # One string of them all, split: quicker than numpy's conversion to str objects.
    return np.array(chars.tobytes().decode("ascii").split("\n")[:-1], dtype=object)


def _cut_positions(endings, runs: list[int]):
    """Return the row positions whose line lacks fields its run's lines have, run by run."""
    import numpy as np

    # endings holds a code per row for the field its line ends with; the judgement itself is
    # usual_ending's, the one read_lines makes too.
    cut = []
    bounds = runs + [len(endings)]
    for begin, end in zip(bounds, bounds[1:]):
        counts = np.bincount(endings[begin:end])
        usual = usual_ending({int(code): int(counts[code]) for code in np.flatnonzero(counts)}, end - begin)
        if usual is not None:
            cut.append(begin + np.flatnonzero(endings[begin:end] != usual))
    return np.concatenate(cut) if cut else np.array([], dtype=np.intp)


def numeric_columns(df):
    """Return df with every column but the stamps numeric (an always-empty one as float NaN)."""
    import pandas as pd

    for column in df.columns:
        if column not in STAMP_COLUMNS and df[column].dtype == object:
            df[column] = pd.to_numeric(df[column])
    return df


def _universal_newlines(data: bytes) -> bytes:
    """Return data with \\r\\n and a lone \\r made \\n, as Python's text mode reads them."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in data else data


def _blocks(path_or_lines):
    """Yield the log as UTF-8 blocks of whole lines joined by \\n (a str: one odd line)."""
    if isinstance(path_or_lines, (str, os.PathLike)):
        with open(path_or_lines, "rb") as handle:
            rest = b""
            while data := handle.read(BLOCK_BYTES):
                data = rest + data
                # After the last line end; a \r at the very end may be half of a \r\n.
                cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1
                if cut:
                    yield _universal_newlines(data[:cut])[:-1]
                rest = data[cut:]
            if rest:
                yield _universal_newlines(rest)
        return
    lines = iter(path_or_lines)
    while chunk := [line.strip() for line in islice(lines, BLOCK_LINES)]:
        text = "\n".join(chunk)
        if text.count("\n") == len(chunk) - 1:
            yield text.encode("utf-8", "surrogatepass")
            continue
        # An item holding a newline is still one line (as parse_line reads it), not two.
        begin = 0
        for i, line in enumerate(chunk):
            if "\n" in line:
                if begin < i:
                    yield "\n".join(chunk[begin:i]).encode("utf-8", "surrogatepass")
                yield line
                begin = i + 1
        if begin < len(chunk):
            yield "\n".join(chunk[begin:]).encode("utf-8", "surrogatepass")


class _LogReader:
    """parse_log's state over the blocks of one log: layouts, forms, rows read so far."""

    def __init__(self, errors: str):
        self.errors = errors  # how the log's bytes decode: as text mode read a file, or lossless
        self.layouts_by_shape: dict[str, list[_Layout]] = {}  # by NUMBER_RE skeleton of a body
        self.layout_count = 0
        self.rejected: set[str] = set()  # shapes whose layout could not be learnt
        self.forms: list[_Form] = []
        self.form_ids: dict[str, int] = {}  # line skeleton -> index in forms
        self.usual = (None, -1)  # the skeleton (bytes) and form of most lines of the last block
        self.pieces: list[tuple] = []  # (row positions, columns) read by a form from a block
        self.general: list[dict] = []  # rows read by the general parser
        self.general_positions: list[int] = []
        self.ending_codes: dict[tuple, int] = {}  # a code per line ending, for _cut_positions
        self.endings = []  # per block, an array of each row's ending code
        self.runs = [0]  # positions where a tegrastats process (re)started
        self.rows = 0
        self.skipped = 0
        self.scratch = _Scratch()

    def read(self, data) -> None:
        """Read a block of lines (bytes), or one odd line (a str)."""
        if isinstance(data, str):
            self._place(1, [], [0], lambda i: data)
            return
        import numpy as np

        block = _Block(data, self.errors, self.scratch)
        n = len(block)
        # Most blocks hold lines of one form only, mostly the last block's: one comparison.
        usual_skeleton, usual_id = self.usual
        uniform = usual_skeleton is not None and block.all_of(usual_skeleton)
        if uniform:
            ids = np.full(n, usual_id, np.intp)
        else:
            ids = np.fromiter(map(self.form_ids.get, block.skeletons, repeat(UNSEEN, n)), np.intp, n)
        ids[block.lines_with_long_runs()] = -1
        unseen = np.flatnonzero(ids == UNSEEN)
        if len(unseen):
            # One line of each new skeleton tells its form. A skeleton without one is tried
            # again in the next block rather than kept: garbage lines rarely repeat theirs.
            without = set()
            for i in unseen:
                skeleton = block.skeletons[i]
                if skeleton not in self.form_ids and skeleton not in without:
                    form = self._learn_form(block.line(i))
                    if form is None:
                        without.add(skeleton)
                    else:
                        self.form_ids[skeleton] = len(self.forms)
                        self.forms.append(form)
            ids[unseen] = [self.form_ids.get(block.skeletons[i], -1) for i in unseen]

        fast = np.flatnonzero(ids >= 0)
        order = fast[np.argsort(ids[fast], kind="stable")]
        form_ids, begins = np.unique(ids[order], return_index=True)
        if not uniform and len(form_ids):
            most = np.argmax(np.diff(begins, append=len(order)))
            self.usual = (block.skeletons[order[begins[most]]].encode("utf-8", self.errors), form_ids[most])
        groups = []
        for form_id, lines in zip(form_ids, np.split(order, begins[1:])):
            form = self.forms[form_id]
            ok = form.matches(block, lines)
            ids[lines[~ok]] = -1
            groups.append((form, lines[ok]))
        positions = self._place(n, groups, np.flatnonzero(ids < 0), block.line)
        for form, lines in groups:
            if len(lines):
                self.pieces.append((positions[lines], form.columns_of(block, lines)))

    def _place(self, n, groups, odd, line):
        """Return each line's row position after reading a block's odd lines one by one."""
        import numpy as np

        is_row = np.zeros(n, bool)
        for _, lines in groups:
            is_row[lines] = True
        general, restarts = [], []
        for i in odd:
            stripped = line(i).strip()
            if not stripped:
                continue
            if stripped[0] == "#":
                # Our own markers are not samples and not errors; a restart begins a new run.
                if stripped.startswith("# restart"):
                    restarts.append(i)
                continue
            stamp, board_time, body = split_stamps(stripped)
            read = read_body(body, stamp, board_time)
            if read is None:
                self.skipped += 1
            else:
                is_row[i] = True
                general.append((i, *read))
        # A row's position in the log; elsewhere, the last row's before the line.
        positions = self.rows + np.cumsum(is_row) - 1
        for i in restarts:
            if self.runs[-1] != positions[i] + 1:
                self.runs.append(int(positions[i]) + 1)
        endings = np.empty(int(positions[-1]) + 1 - self.rows, dtype=np.intp)
        codes = self.ending_codes
        for form, lines in groups:
            endings[positions[lines] - self.rows] = codes.setdefault(form.layout.ending, len(codes))
        for i, row, ending in general:
            endings[positions[i] - self.rows] = codes.setdefault(ending, len(codes))
            self.general_positions.append(int(positions[i]))
            self.general.append(row)
        self.endings.append(endings)
        self.rows += len(endings)
        return positions

    def _learn_form(self, line: str) -> _Form | None:
        """Return the form of a line's skeleton (learning its layout if new), or None."""
        if not line or line != line.strip() or line[0] == "#":
            return None
        stamp, board_time, body = split_stamps(line)
        shape, texts = NUMBER_RE.sub("#", body), NUMBER_RE.findall(body)
        layouts = self.layouts_by_shape.setdefault(shape, [])
        layout = next((layout for layout in layouts if layout.accepts(texts)), None)
        if layout is None:
            if self.layout_count >= MAX_LAYOUTS or shape in self.rejected:
                return None
            if parse_body(body, stamp, board_time) is None:
                return None  # not a sample
            layout = _learn_layout(body)
            if layout is None or not layout.accepts(texts):
                self.rejected.add(shape)
                return None
            layouts.append(layout)
            self.layout_count += 1
        return _Form.make(layout, line, body)

    def frame(self):
        """Return the DataFrame of all rows read, in order, without those cut off."""
        import numpy as np
        import pandas as pd

        cut = _cut_positions(np.concatenate(self.endings), self.runs)
        self.skipped += len(cut)
        kept = np.ones(self.rows, bool)
        kept[cut] = False
        # A row cut off leaves no trace, as in read_lines: no column of its own, no say in a
        # column's type (a missing frequency would make a column float).
        pieces = [(positions, data, kept[positions]) for positions, data in self.pieces]
        pieces = [piece for piece in pieces if piece[2].any()]
        general = [(at, row) for at, row in zip(self.general_positions, self.general) if kept[at]]
        self.pieces.clear()
        self.general.clear()
        # Columns in the order they first appear in the log, as a row-by-row build has them.
        first_rows = [(positions[keep][0], data) for positions, data, keep in pieces] + general
        first_rows.sort(key=lambda pair: pair[0])
        order = list(dict.fromkeys(key for _, keys in first_rows for key in keys))
        del first_rows
        if general:
            # The general parser's rows as one more piece, each column of one numeric type
            # (parse_line gives None for an empty value).
            frame = numeric_columns(pd.DataFrame.from_records([row for _, row in general]))
            columns = {key: frame[key].to_numpy() for key in frame}
            positions = np.array([at for at, _ in general])
            pieces.append((positions, columns, np.ones(len(general), bool)))
            del frame, columns
        return _assemble(pieces, kept, order)


def _assemble(pieces: list[tuple], kept, order: list[str]):
    """Return the DataFrame of the pieces' kept rows, rows and columns in order."""
    import numpy as np
    import pandas as pd

    # Each column is built once, in place, with the type pd.concat would give it, rather than
    # by concatenating, sorting and dropping DataFrames (a copy of the whole log each).
    new_position = np.cumsum(kept) - 1
    count = int(new_position[-1]) + 1
    columns = {key: [] for key in order}
    for positions, data, keep in pieces:
        target = new_position[positions[keep]]
        if target[-1] - target[0] == len(target) - 1:
            target = slice(target[0], target[-1] + 1)  # rows one after another: a plain copy
        length = int(keep.sum())
        keep = None if length == len(keep) else keep
        for key in data:
            columns[key].append((length, target, keep, data))
    frame = {}
    for key, having in columns.items():
        arrays = [data.pop(key) for _, _, _, data in having]  # each piece's, let go when done
        filled = sum(length for length, _, _, _ in having)  # rows that get a value
        if any(array.dtype == object for array in arrays):
            dtype = object
        elif filled < count:
            dtype = np.float64  # empty somewhere: NaN there
        else:
            dtype = np.result_type(*{array.dtype for array in arrays})
        column = np.empty(count, dtype) if filled == count else np.full(count, np.nan, dtype)
        for (_, target, keep, _), array in zip(having, arrays):
            column[target] = array if keep is None else array[keep]
        frame[key] = column
    pieces.clear()
    return pd.DataFrame(frame)


def parse_log(path_or_lines, *, profile=None, power_method="total"):
    """Return (hw DataFrame with one row per parsed line in order, count of skipped lines)."""
    import pandas as pd

    from edgebench.monitor.power import add_total_power

    # A file decodes as text mode would read it; lines given as str keep every character.
    is_file = isinstance(path_or_lines, (str, os.PathLike))
    reader = _LogReader("replace" if is_file else "surrogatepass")
    for data in _blocks(path_or_lines):
        reader.read(data)
    df = reader.frame() if reader.rows else pd.DataFrame({"timestamp": []})
    df = add_total_power(df, profile, method=power_method, copy=False)
    return df, reader.skipped


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
