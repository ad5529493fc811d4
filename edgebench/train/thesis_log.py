"""train.log in the thesis's text format (thesis §4), so old parsers and eyes can read it."""

from __future__ import annotations


def epoch_lines(row: dict) -> list[str]:
    """Return the thesis-format lines for one epochs.csv row (epoch numbers start at 0)."""
    e = row["epoch"]
    return [
        f"Epoch {e}. Loss: {row['train_loss']}, Train acc {row['train_acc']}, Test acc {row['val_acc']}",
        f"Epoch {e} training: err-top1={1 - row['train_acc']:.6f} err-top5={1 - row['train_top5']:.6f}",
        f"Epoch {e} validation: err-top1={1 - row['val_acc']:.6f} err-top5={1 - row['val_top5']:.6f} loss={row['val_loss']}",
        f"Epoch {e} time cost: {row['epoch_seconds']:.6f}",
    ]
