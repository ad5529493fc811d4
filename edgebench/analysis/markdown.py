"""Markdown rendering of result tables, for terminals, READMEs and the report."""

import math

import pandas as pd


def to_markdown(df: pd.DataFrame, *, floatfmt="g", **tabulate_options) -> str:
    """Return df as a GitHub-flavoured Markdown table; missing values render as empty cells.

    floatfmt is tabulate's: one format for all float columns or a sequence, one per column.
    Columns already formatted as strings keep their text exactly (no re-parsing as numbers).
    """
    # NaN would print as "nan"; None is what tabulate renders as its (empty) missing value.
    cells = df.astype(object).where(df.notna(), None)
    options = {"index": False, "floatfmt": floatfmt, "missingval": ""}
    options.update(tabulate_options)
    if all(not pd.api.types.is_numeric_dtype(df[c]) for c in df.columns):
        # pure text tables: keep "5.10" as printed instead of tabulate turning it into 5.1
        options.setdefault("disable_numparse", True)
    return cells.to_markdown(**options)


def format_number(value, decimals: int = 0, digits: int = 3) -> str:
    """Return value with at least `decimals` decimals and at least `digits` significant digits.

    The thesis prints differences with fixed decimals (0.1 s, 0.001 W); a small non-zero value
    would then print as 0.0 beside its non-zero percentage. More decimals are used until
    `digits` significant ones show: 0.0004 -> 0.000400, 1234.56 -> 1234.6 (decimals 1).
    Empty for a missing value.
    """
    if value is None or pd.isna(value):
        return ""
    value = float(value)
    if value != 0 and math.isfinite(value):
        decimals = max(decimals, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"
