"""The classifier head AlexNet and VGG-16 share, built from either framework's layer namespace.

`nn` is `torch.nn` or `edgebench.models.mxnet.layers`, which mirrors torch.nn's names and
arguments; one definition then serves both frameworks and both models, and the layer order
(hence the parameter names the converter relies on) is the same everywhere.
"""

from __future__ import annotations


def fc_head(nn, in_features: int, num_classes: int, dropout: float):
    """Return FC 4096, ReLU, dropout, FC 4096, ReLU, dropout, FC classes."""
    # Dropout follows each hidden FC layer's ReLU, as in the AlexNet paper, Caffe's reference
    # net and torchvision's VGG.
    return nn.Sequential(
        nn.Linear(in_features, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(4096, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(4096, num_classes),
    )
