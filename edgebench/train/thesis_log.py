"""train.log in the thesis's text format (thesis §4), so old parsers and eyes can read it.

Three lines per epoch and nothing else, formatted as the thesis's example (its scripts ran on
Python 2: the accuracies print as Python 2's str() of a float, 12 significant digits; the loss
in full). What edgebench adds, the validation errors and loss, goes to validation.log.
"""

from __future__ import annotations

from typing import List


def _py2_str(value: float) -> str:
    """Return a float as Python 2's str() printed it (12 significant digits)."""
    return format(float(value), ".12g")


def epoch_lines(row: dict) -> List[str]:
    """Return the thesis-format lines of train.log for one epochs.csv row (epoch numbers start at 0)."""
    e = row["epoch"]
    return [
        f"Epoch {e}. Loss: {float(row['train_loss'])!r}, Train acc {_py2_str(row['train_acc'])}, "
        f"Test acc {_py2_str(row['val_acc'])}",
        f"Epoch {e} training: err-top1={1 - row['train_acc']:.6f} err-top5={1 - row['train_top5']:.6f}",
        f"Epoch {e} time cost: {row['epoch_seconds']:.6f}",
    ]


def validation_line(row: dict) -> str:
    """Return validation.log's line for one epochs.csv row: the validation errors and loss."""
    e = row["epoch"]
    return f"Epoch {e} validation: err-top1={1 - row['val_acc']:.6f} err-top5={1 - row['val_top5']:.6f} loss={row['val_loss']}"
