"""The `edgebench` command: one subcommand per job, each owned by the module that does it."""

import importlib
import sys

# subcommand -> (module, function, one-line help). Each function takes argv (list[str]) and
# returns an exit code; modules are imported only when their subcommand runs, so a quick
# command never pays for importing torch or mxnet.
SUBCOMMANDS = {
    "check": ("edgebench.check", "cli", "what this board is and which configured runs it can do, and why not"),
    "status": ("edgebench.status", "cli", "what a target still needs, with the time left and a finish estimate"),
    "parse-tegrastats": ("edgebench.monitor.tegrastats", "cli", "parse a tegrastats log into hw.csv columns"),
    "meter-check": ("edgebench.monitor.metercheck", "cli",
                    "the wall meter against the module's power at idle and two loads: the carrier-board offset"),
    "rank": ("edgebench.analysis.ranking", "cli", "rank frameworks from one per-configuration table"),
    "compile": ("edgebench.analysis.compile", "cli", "compile rankings and energy across configuration tables"),
}


def usage() -> str:
    """Return the top-level help text."""
    width = max(len(name) for name in SUBCOMMANDS)
    lines = ["usage: edgebench SUBCOMMAND [ARGS...]", "", "subcommands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, _, help_) in SUBCOMMANDS.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    """Dispatch to a subcommand and return its exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"edgebench: unknown subcommand {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module, function, _ = SUBCOMMANDS[name]
    return getattr(importlib.import_module(module), function)(rest)


if __name__ == "__main__":
    sys.exit(main())
