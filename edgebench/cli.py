"""The `edgebench` command: one subcommand per job, each owned by the module that does it."""

import importlib
import sys
from typing import NamedTuple


class Command(NamedTuple):
    """A subcommand: `module.function(argv)` runs it and returns an exit code."""

    module: str
    function: str
    help: str


class Group(NamedTuple):
    """A subcommand that only names more subcommands (`edgebench dataset scan ...`)."""

    subcommands: dict
    help: str


# Each module is imported only when its subcommand runs, so a quick command (or any --help
# above a leaf) never pays for importing torch, mxnet or pandas.
DATASET_SUBCOMMANDS = {
    "demo": Command("edgebench.data.demo", "cli", "write the synthetic demo ImageNet tree"),
    "scan": Command("edgebench.data.scan", "cli", "file-size statistics of an ILSVRC-2012 tree (stats.json)"),
    "subset": Command("edgebench.data.subset", "cli", "choose the size-balanced subset (manifest.csv and its report)"),
    "prepare": Command("edgebench.data.prepare", "cli", "decode a manifest's images once into uint8 arrays"),
    "jpeg-subset": Command("edgebench.data.native", "cli",
                           "link a manifest's JPEGs into split/wnid folders for the native loaders"),
}

SUBCOMMANDS = {
    "check": Command("edgebench.check", "cli", "what this board is and which configured runs it can do, and why not"),
    "status": Command("edgebench.status", "cli", "what a target still needs, with the time left and a finish estimate"),
    "dataset": Group(DATASET_SUBCOMMANDS, "the dataset stages by hand: demo, scan, subset, prepare, jpeg-subset"),
    "parse-tegrastats": Command("edgebench.monitor.tegrastats", "cli", "parse a tegrastats log into hw.csv columns"),
    "meter-check": Command("edgebench.monitor.metercheck", "cli",
                           "the wall meter against the module's power at idle and two loads: the carrier-board offset"),
    "rank": Command("edgebench.analysis.ranking", "cli", "rank frameworks from one per-configuration table"),
    "compile": Command("edgebench.analysis.compile", "cli", "compile rankings and energy across configuration tables"),
}


def usage(prog: str, table: dict) -> str:
    """Return the help text of a command table: its usage line and one line per subcommand."""
    width = max(len(name) for name in table)
    lines = [f"usage: {prog} SUBCOMMAND [ARGS...]", "", "subcommands:"]
    lines += [f"  {name:<{width}}  {entry.help}" for name, entry in table.items()]
    lines += ["", f"`{prog} SUBCOMMAND --help` shows a subcommand's arguments."]
    return "\n".join(lines)


def dispatch(prog: str, table: dict, argv: list) -> int:
    """Run the subcommand argv[0] of `table` with the rest of argv; return its exit code.

    A Group is dispatched by this same function one level down, so `edgebench dataset` answers
    --help, a missing and an unknown subcommand exactly as `edgebench` does.
    """
    if argv and argv[0] in ("-h", "--help"):
        print(usage(prog, table))
        return 0
    if not argv:  # a usage error, as argparse treats a missing required argument
        print(f"{prog}: missing subcommand\n\n{usage(prog, table)}", file=sys.stderr)
        return 2
    name, rest = argv[0], argv[1:]
    if name not in table:
        print(f"{prog}: unknown subcommand {name!r}\n\n{usage(prog, table)}", file=sys.stderr)
        return 2
    entry = table[name]
    if isinstance(entry, Group):
        return dispatch(f"{prog} {name}", entry.subcommands, rest)
    return getattr(importlib.import_module(entry.module), entry.function)(rest)


def main(argv=None) -> int:
    """The `edgebench` entry point: dispatch sys.argv (or argv) and return the exit code."""
    return dispatch("edgebench", SUBCOMMANDS, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
