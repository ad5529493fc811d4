"""train.log is the thesis's three lines per epoch, formatted as its example block (thesis §4)."""

from edgebench.train.thesis_log import epoch_lines, validation_line

# The thesis's example, as printed (thesis §4, the application metrics' log).
THESIS_BLOCK = """Epoch 0. Loss: 2.1653266438665644, Train acc 0.211615384615, Test acc 0.216
Epoch 0 training: err-top1=0.863154 err-top5=0.437385
Epoch 0 time cost: 445.511252"""


def test_the_three_lines_reproduce_the_thesis_block():
    # 2751 of 13000 training images right, 108 of 500 validation images: the thesis's accuracies.
    # Its err-top1 does not follow from its "Train acc" (1 - 0.2116 is not 0.8632: the script's two
    # lines came from different meters), so the training line is reproduced from its own values.
    row = dict(epoch=0, train_loss=2.1653266438665644, train_acc=2751 / 13000, val_acc=108 / 500,
               train_top5=0.562615, val_top5=0.7, val_loss=2.0, epoch_seconds=445.511252)
    ours = epoch_lines(row)
    thesis = THESIS_BLOCK.splitlines()
    assert len(ours) == 3
    assert ours[0] == thesis[0] and ours[2] == thesis[2]
    assert epoch_lines({**row, "train_acc": 1 - 0.863154})[1] == thesis[1]


def test_the_validation_line_is_kept_apart():
    row = dict(epoch=3, train_loss=1.0, train_acc=0.5, val_acc=0.25, train_top5=0.9, val_top5=0.75, val_loss=1.5,
               epoch_seconds=1.0)
    assert validation_line(row) == "Epoch 3 validation: err-top1=0.750000 err-top5=0.250000 loss=1.5"
    assert not any("validation" in line for line in epoch_lines(row))
