"""Top-k scoring shared by both frameworks, checked against torch.topk."""

import numpy as np
import torch

from edgebench.train.metrics import EpochMeter, topk_correct


def test_topk_matches_torch():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(257, 10)).astype(np.float32)
    labels = rng.integers(0, 10, size=257)
    for k in (1, 5):
        expected = (torch.topk(torch.from_numpy(logits), k).indices == torch.from_numpy(labels)[:, None]).any(1).sum()
        assert topk_correct(logits, labels, k) == int(expected)


def test_top5_with_fewer_classes_counts_everything():
    logits = np.array([[0.1, 0.9, 0.0]])
    assert topk_correct(logits, np.array([2]), 5) == 1


def test_meter_weights_batches_by_size():
    meter = EpochMeter()
    meter.add(1.0, np.array([[1.0, 0.0]] * 4), np.array([0, 0, 0, 1]))
    meter.add(4.0, np.array([[0.0, 1.0]] * 2), np.array([1, 1]))
    loss, top1, top5 = meter.summary()
    assert loss == (4 * 1.0 + 2 * 4.0) / 6
    assert top1 == 5 / 6 and top5 == 1.0
