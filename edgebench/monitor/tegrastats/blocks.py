"""A text log as numpy arrays over its bytes, a block of lines at a time, for the fast path.

log_blocks() cuts a log (a file, or an iterable of lines) into blocks of whole lines; a Block
finds each line, each run of digits and its value, and each line's skeleton (the line with
every run of digits made one 0) with a few numpy calls over the whole block. Nothing here
knows what a tegrastats line holds: fast.py gives the runs their meaning.
"""

from __future__ import annotations

import os
from itertools import islice

# A block is about 2,500 TX2 lines: numpy's cost per call is spread over many lines, and
# the block's arrays stay in the CPU's cache (4 MiB blocks were 20% slower).
BLOCK_BYTES = 1 << 20  # read from a file at a time
BLOCK_LINES = 2_500  # taken from an iterable of lines at a time
# Runs up to this long are read exactly by run_values (8 digits at most), and a decimal of
# two of them stays below 2**53, exact as a float. A line with a longer run: general parser.
MAX_DIGITS = 7


def universal_newlines(data: bytes) -> bytes:
    """Return data with \\r\\n and a lone \\r made \\n, as Python's text mode reads them."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in data else data


def log_blocks(path_or_lines):
    """Yield the log as UTF-8 blocks of whole lines joined by \\n (a str: one odd line)."""
    if isinstance(path_or_lines, (str, os.PathLike)):
        with open(path_or_lines, "rb") as handle:
            rest = b""
            while data := handle.read(BLOCK_BYTES):
                data = rest + data
                # After the last line end; a \r at the very end may be half of a \r\n.
                cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1
                if cut:
                    yield universal_newlines(data[:cut])[:-1]
                rest = data[cut:]
            if rest:
                yield universal_newlines(rest)
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


class Scratch:
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


class Block:
    """A block of log lines as bytes: its digit runs, and each line's skeleton."""

    def __init__(self, data: bytes, errors: str, scratch: Scratch):
        import numpy as np

        self.errors = errors  # how a line's bytes decode, as the log was read
        # A newline in front puts one before every line; 16 zeros after the text keep the
        # 8-byte reads of run_values inside the buffer.
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
            self._values = run_values(self.buf, self.starts, self.lengths, self.scratch)
        return self._values


def run_values(buf, starts, lengths, scratch):
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


def span_texts(buf, line_starts, pieces):
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
