"""Loss/accuracy bookkeeping shared by both frameworks (numpy only, so both are scored identically)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def topk_correct(logits: np.ndarray, labels: np.ndarray, k: int) -> int:
    """Return how many rows have their label among the k highest scores, ties counted against the model.

    A sample is right only if fewer than k classes score at least as high as its label (the
    label itself included). Breaking ties by position, as argpartition or a framework's topk
    would, scores a collapsed model whose logits are all equal at k / classes instead of 0, and
    differently in each framework.
    """
    k = min(k, logits.shape[1])
    label_scores = logits[np.arange(len(labels)), labels][:, None]
    at_least_as_high = (logits >= label_scores).sum(axis=1)
    # NaN logits compare False everywhere: such a sample has no rank, so it is never right.
    return int(((at_least_as_high <= k) & ~np.isnan(label_scores[:, 0])).sum())


@dataclass
class EpochMeter:
    """Accumulates summed loss and top-1/top-5 hits over the batches of one pass."""

    samples: int = 0
    loss_sum: float = 0.0
    top1: int = 0
    top5: int = 0

    def add(self, mean_loss: float, logits: np.ndarray, labels: np.ndarray) -> None:
        """Add one batch given its mean loss and its logits."""
        n = len(labels)
        self.samples += n
        self.loss_sum += float(mean_loss) * n
        self.top1 += topk_correct(logits, labels, 1)
        self.top5 += topk_correct(logits, labels, 5)

    def summary(self) -> tuple[float, float, float]:
        """Return (mean loss, top-1 accuracy, top-5 accuracy) as fractions."""
        if self.samples == 0:
            return float("nan"), float("nan"), float("nan")
        return self.loss_sum / self.samples, self.top1 / self.samples, self.top5 / self.samples
