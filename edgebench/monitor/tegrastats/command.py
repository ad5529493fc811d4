"""`edgebench parse-tegrastats LOG`: a tegrastats log (raw, or the runner's stamped hw.log)
into hw.csv columns, with the board's total power, as a CSV file or on standard output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edgebench.monitor.tegrastats.fast import parse_log


def cli(argv) -> int:
    """Return an exit code after `edgebench parse-tegrastats LOG [-o OUT] ...`."""
    from edgebench.hwconfig.boards import load_board
    from edgebench.monitor.power import describe_total

    parser = argparse.ArgumentParser(
        prog="edgebench parse-tegrastats",
        description="Parse a tegrastats log (raw or stamped hw.log) into hw.csv columns.",
    )
    parser.add_argument("log", help="tegrastats log file")
    parser.add_argument("-o", "--output", help="CSV to write (default: standard output)")
    # --profile: its name before board descriptions had their own (still accepted).
    parser.add_argument("--board", "--profile", dest="board",
                        help="the board whose total power to add: a name in resources/boards or a YAML path")
    parser.add_argument("--power-method", choices=["total", "thesis_sum"], default="total")
    args = parser.parse_args(argv)

    if not Path(args.log).is_file():
        print(f"parse-tegrastats: {args.log}: no such file", file=sys.stderr)
        return 2
    try:
        board = load_board(args.board) if args.board else None
    except (FileNotFoundError, ValueError) as error:
        print(f"parse-tegrastats: {error}", file=sys.stderr)
        return 2
    df, skipped = parse_log(args.log, board=board, power_method=args.power_method)
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
