"""Top-k scoring shared by both frameworks, checked against torch.topk."""

import numpy as np
import torch

from edgebench.train.metrics import EpochMeter, topk_correct
from edgebench.train.thesis_log import epoch_lines


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


def test_thesis_log_lines():
    row = dict(epoch=0, train_loss=2.1653, train_acc=0.25, train_top5=0.6, val_loss=2.0, val_acc=0.3,
               val_top5=0.7, epoch_seconds=445.5)
    lines = epoch_lines(row)
    assert lines[0] == "Epoch 0. Loss: 2.1653, Train acc 0.25, Test acc 0.3"
    assert lines[1] == "Epoch 0 training: err-top1=0.750000 err-top5=0.400000"
    assert lines[-1] == "Epoch 0 time cost: 445.500000"


def test_ties_count_against_the_model():
    # A collapsed model (all logits equal) is right for no sample, whatever the order of classes.
    collapsed = np.zeros((20, 10), dtype=np.float32)
    labels = np.arange(20) % 10
    assert topk_correct(collapsed, labels, 1) == 0 and topk_correct(collapsed, labels, 5) == 0
    # The label tied with one other class at the top: not top-1 (two classes score as high), but top-2.
    tied = np.array([[3.0, 3.0, 1.0, 0.0]])
    assert topk_correct(tied, np.array([1]), 1) == 0 and topk_correct(tied, np.array([1]), 2) == 1
    # Ties below the label do not matter.
    assert topk_correct(np.array([[5.0, 1.0, 1.0, 1.0]]), np.array([0]), 1) == 1


def test_a_nan_logit_row_is_never_right():
    assert topk_correct(np.array([[np.nan, 0.0, 0.0]]), np.array([0]), 1) == 0
