"""The fast tegrastats parser: parse_log(), a whole log into an hw.csv DataFrame with numpy.

It must give exactly what the reference parser (reference.py) gives: the same rows, columns,
types and values, and the same lines skipped; the tests compare the two on every recorded
line and on synthetic logs, with every layout learnt and with none.

A log holds hundreds of thousands of lines from one tegrastats process, laid out identically
except for their numbers. parse_log therefore learns each layout once from a line the
reference parser reads: which of its numbers belong to a name, and which column each other
number fills. It then reads the log in blocks (blocks.py) with numpy over each block's bytes
(a regex match or any Python work per line would cost several times more than all the rest):
a line whose skeleton (every run of digits made one 0) is a known form of a layout has its
digit runs turned into numbers, column by column for the whole block; only the other lines
(markers, garbage, the first line of a new form, odd numbers) go through the reference
parser, one by one. Lines cut off are judged by the reference's rule: each line alone by its
ending, then beside its run (reference.usual_ending); a line cut off is counted skipped.
"""

from __future__ import annotations

import os
import re
from itertools import repeat

from edgebench.monitor.tegrastats.blocks import MAX_DIGITS, Block, Scratch, log_blocks, span_texts
from edgebench.monitor.tegrastats.fields import (
    BOARD_TIME_ISO,
    BOARD_TIMESTAMP,
    MARKER,
    NUMBER,
    SENSOR_OFF_C,
    STAMP_COLUMNS,
    TEMP_PREFIX,
    TIMESTAMP,
    stamp_matches,
)
from edgebench.monitor.tegrastats.reference import (
    RESTART,
    SKIPPED,
    numeric_columns,
    parse_body,
    read_body,
    read_raw,
    split_stamps,
    usual_ending,
)

NUMBER_RE = re.compile(NUMBER)
PROBE, PROBE_DECIMAL = "987654", "98765.25"
MAX_LAYOUTS = 256  # beyond this many layouts in one log, learning stops: general path only
DIGIT_RUN_RE = re.compile(r"[0-9]+")
# NUMBER_RE's numbers as they look in a skeleton: group 1 is a sign, group 2 a fraction.
SKELETON_NUMBER_RE = re.compile(r"(-?)0(\.0)?")
UNSEEN = -2  # a skeleton not met yet (-1: its lines go through the general parser)


# --- layouts: what each number of a line is, learnt from the reference parser ------------


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
            kind = ("celsius" if key.startswith(TEMP_PREFIX) else "float") if is_float else "int"
            columns.append((key, kind))
        numbers.append(_Slot(tuple(columns)))
    constants = {key: base[key] for key in keys if key not in taken}
    return _Layout(numbers, constants, keys, ending)


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
        self.ours = [ours.span(1)] if ours else None  # our stamp's (start, end) in the line
        # The board's time as reference.split_stamps writes it: spans of the line, and text.
        self.board = [board.span(part) if isinstance(part, int) else part.encode() for part in BOARD_TIME_ISO] \
            if board else None

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

    def matches(self, block: Block, lines):
        """Return which of these lines of the block (of this form's skeleton) are of the form."""
        runs = block.first_run[lines][:, None]
        ok = (block.lengths[runs + self.pinned_runs] == self.pinned_lengths).all(axis=1)
        return ok & (block.values[runs + self.fixed_runs] == self.fixed_values).all(axis=1)

    def columns_of(self, block: Block, lines) -> dict:
        """Return the columns of these lines of the block, as parse_line gives them."""
        import numpy as np

        n, first_run, line_starts = len(lines), block.first_run[lines], block.line_starts[lines]
        values = block.values
        ours = span_texts(block.buf, line_starts, self.ours) if self.ours else None
        board = span_texts(block.buf, line_starts, self.board) if self.board else None
        data = {TIMESTAMP: ours if ours is not None else board if board is not None else np.full(n, None)}
        if ours is not None and board is not None:
            data[BOARD_TIMESTAMP] = board
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


# --- a whole log -------------------------------------------------------------------------


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
        self.scratch = Scratch()

    def read(self, data) -> None:
        """Read a block of lines (bytes), or one odd line (a str)."""
        if isinstance(data, str):
            self._place(1, [], [0], lambda i: data)
            return
        import numpy as np

        block = Block(data, self.errors, self.scratch)
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
            read = read_raw(line(i))
            if read is None:
                continue
            if read is RESTART:
                restarts.append(i)
            elif read is SKIPPED:
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
        if not line or line != line.strip() or line[0] == MARKER:
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
            # The general parser's rows as one more piece, each column of one numeric type.
            frame = numeric_columns(pd.DataFrame.from_records([row for _, row in general]))
            columns = {key: frame[key].to_numpy() for key in frame}
            positions = np.array([at for at, _ in general])
            pieces.append((positions, columns, np.ones(len(general), bool)))
            del frame, columns
        return _assemble(pieces, kept, order)


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


def parse_log(path_or_lines, *, board=None, power_method="total"):
    """Return (hw DataFrame with one row per parsed line in order, count of skipped lines)."""
    import pandas as pd

    from edgebench.monitor.power import add_total_power

    # A file decodes as text mode would read it; lines given as str keep every character.
    is_file = isinstance(path_or_lines, (str, os.PathLike))
    reader = _LogReader("replace" if is_file else "surrogatepass")
    for data in log_blocks(path_or_lines):
        reader.read(data)
    df = reader.frame() if reader.rows else pd.DataFrame({TIMESTAMP: []})
    df = add_total_power(df, board, method=power_method, copy=False)
    return df, reader.skipped
