"""Markdown rendering of result tables, for terminals, READMEs and the report."""

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
