"""The board's total power (`power_total_mw`) from its rails, per board description.

tegrastats prints several rails, and on most boards one of them is the module's input while
the others are branches of it: summing them all (as the thesis did) counts power twice. The
board description says which rails form the total; where a board has no input rail the total is
the sum of its top-level rails, flagged as an estimate. See resources/boards/*.yaml and docs/rails.md.
"""

from __future__ import annotations

import re

from edgebench.hwconfig.boards import load_board

METHODS = ("total", "thesis_sum")
# Input rails by name, most complete first: Thor's VIN includes the carrier board,
# VDD_IN / POM_5V_IN are the module's input (TX1/TX2/NX/Orin NX/Nano, Nano).
INPUT_RAIL_NAMES = ("VIN", "VDD_IN", "POM_5V_IN")
_RAIL_COLUMN_RE = re.compile(r"power_([a-z0-9_]+?)_mw$")
# Columns that look like rails but are not tegrastats rails: derived totals, host readers (RAPL
# domains and NVML GPUs) whose totals follow other rules, see host_total_rails(), and the wall
# meter (monitor/wall.py), which measures the whole board beside the rails, never one of them.
_NOT_RAILS_RE = re.compile(r"^power_(?:total|thesis_sum|wall|rapl_\w+|gpu\d+)_mw$|_(?:avg|max)_mw$")
_HOST_TOP_LEVEL_RE = re.compile(r"^power_(?:rapl_package_\d+|rapl_(?:package_\d+_)?dram|gpu\d+)_mw$")
# Host power columns that have a cumulative energy counter beside them, and the counter's unit
# in uJ: RAPL's unwrapped energy_uj (rapl.py), NVML's total energy in mJ (nvml.py).
_COUNTERS = ((re.compile(r"^power_(rapl_\w+)_mw$"), "energy_{}_uj", 1),
             (re.compile(r"^power_(gpu\d+)_mw$"), "energy_{}_mj", 1000))
ENERGY_TOTAL_COLUMN = "energy_total_uj"


def rail_column(rail: str) -> str:
    """Return the hw.csv column holding a rail's instantaneous power."""
    return f"power_{rail.lower()}_mw"


def rails_in(columns) -> list[str]:
    """Return the tegrastats rail names (upper-case) whose power columns are present."""
    rails = []
    for column in columns:
        if _NOT_RAILS_RE.search(column):
            continue
        m = _RAIL_COLUMN_RE.match(column)
        if m:
            rails.append(m.group(1).upper())
    return rails


def host_total_rails(columns) -> list[str]:
    """Return the host columns (RAPL packages and DRAM, NVML GPUs) that sum to a host total."""
    # RAPL core/uncore/psys overlap the package (psys is the whole platform and contains it):
    # only packages and DRAM are disjoint, and GPUs sit beside them on PCIe.
    return [c for c in columns if _HOST_TOP_LEVEL_RE.match(c)]


def total_power_spec(columns, board=None, method: str = "total") -> dict | None:
    """Return how power_total_mw is formed from these columns, or None when no rail exists."""
    if method not in METHODS:
        raise ValueError(f"power method {method!r} unknown (choose from {', '.join(METHODS)})")
    columns = list(columns)
    present = set(rails_in(columns))
    power = (board or {}).get("power") or {}
    board_name = (board or {}).get("name", "unknown board")
    if not present:
        host = host_total_rails(columns)
        if not host:
            return None
        return {"method": method, "columns": host, "is_estimate": True,
                "source": "host: sum of RAPL package/DRAM domains and NVML GPUs"}

    def spec(rails, is_estimate, source):
        return {"method": method, "columns": [rail_column(r) for r in rails],
                "rails": list(rails), "is_estimate": bool(is_estimate), "source": source}

    if method == "thesis_sum":
        wanted = power.get("thesis_sum_rails")
        if wanted and set(wanted) <= present:
            return spec(wanted, True, f"board {board_name}: thesis_sum_rails (double-counts branches of the input)")
        return spec(sorted(present), True, "thesis_sum: sum of all printed rails (double-counts branches of the input)")

    for key, estimate_key in (("total_rails", "total_is_estimate"), ("fallback_total_rails", None)):
        wanted = power.get(key)
        if wanted and set(wanted) <= present:
            is_estimate = power.get(estimate_key, False) if estimate_key else True
            return spec(wanted, is_estimate, f"board {board_name}: {key}")
    # Unknown board, or a release that renamed the board's rails: the same rule by name.
    for name in INPUT_RAIL_NAMES:
        if name in present:
            return spec([name], False, f"input rail {name} by name")
    inputs = sorted(r for r in present if r.endswith("_IN"))
    if inputs:
        return spec(inputs[:1], False, f"input rail {inputs[0]} by name (*_IN)")
    return spec(sorted(present), True, "no input rail: sum of all printed rails")


def counter_column(power_column: str):
    """Return (energy counter column, uJ per counter unit) beside a host power column, or None."""
    for pattern, template, scale in _COUNTERS:
        m = pattern.match(power_column)
        if m:
            return template.format(m.group(1)), scale
    return None


def add_total_energy(df, spec: dict) -> None:
    """Add energy_total_uj, the sum of the total's energy counters, where every domain has one.

    The counters give a window's energy as a plain difference (energy.py), exact where the
    power columns are means over each interval; a total with one domain lacking a counter (an
    NVML GPU older than Volta) has none, and its energy comes from the power trace.
    """
    if "rails" in spec:  # tegrastats prints power only
        return
    counters = [counter_column(column) for column in spec["columns"]]
    if None in counters or any(column not in df.columns for column, _ in counters):
        return
    columns = [column for column, _ in counters]
    in_uj = df[columns].astype(float).mul([scale for _, scale in counters], axis="columns")
    # min_count as for the power: a row missing one counter has no total rather than a partial one.
    df[ENERGY_TOTAL_COLUMN] = in_uj.sum(axis=1, min_count=len(columns))
    spec["energy_columns"] = columns


def describe_total(spec: dict) -> str:
    """Return a one-line human description of a total-power spec."""
    formula = " + ".join(spec["columns"])
    estimate = ", estimate" if spec["is_estimate"] else ""
    return f"{formula} [{spec['method']}: {spec['source']}{estimate}]"


def add_total_power(df, board=None, method: str = "total", *, copy: bool = True):
    """Return df with power_total_mw added per the board description (a dict, name or None) and method."""
    if board is not None and not isinstance(board, dict):
        board = load_board(board)
    spec = total_power_spec(df.columns, board, method)
    if copy:  # parse_log passes a frame of its own and spares a copy of a large log
        df = df.copy()
    if spec is None:
        # No rails (tegrastats without root, or a host without sensors): no total, and no zero.
        df.attrs["power_total"] = None
        return df
    # min_count: a row where one of the rails is missing gets no total rather than a partial sum.
    df["power_total_mw"] = df[spec["columns"]].sum(axis=1, min_count=len(spec["columns"]))
    add_total_energy(df, spec)
    if method == "thesis_sum":
        # The CSV then says by name that its total is the thesis's sum.
        df["power_thesis_sum_mw"] = df["power_total_mw"]
    df.attrs["power_total"] = spec
    return df


def total_is_estimate(df) -> bool | None:
    """Return whether df's power_total_mw is an estimate (None when df has no total)."""
    spec = df.attrs.get("power_total")
    return None if spec is None else spec["is_estimate"]
