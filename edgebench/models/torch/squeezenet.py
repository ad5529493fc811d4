"""SqueezeNet 1.0 (Iandola et al. 2016), layer for layer torchvision's ``squeezenet1_0``."""

from __future__ import annotations

import torch
from torch import nn


class Fire(nn.Module):
    """Squeeze with 1x1 convs, then expand with parallel 1x1 and 3x3 convs, concatenated."""

    def __init__(self, in_channels: int, squeeze: int, expand1x1: int, expand3x3: int):
        super().__init__()
        self.squeeze = nn.Conv2d(in_channels, squeeze, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        """Return the two expand branches concatenated along channels."""
        x = self.squeeze_activation(self.squeeze(x))
        expanded1x1 = self.expand1x1_activation(self.expand1x1(x))
        expanded3x3 = self.expand3x3_activation(self.expand3x3(x))
        return torch.cat([expanded1x1, expanded3x3], 1)


class SqueezeNet(nn.Module):
    """SqueezeNet 1.0: a 7x7 stem, eight Fire modules, a 1x1 conv classifier, global average."""

    def __init__(self, num_classes: int, dropout: float = 0.5):
        super().__init__()
        # ceil_mode pooling, as in the paper's Caffe definition and torchvision.
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, 7, stride=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(96, 16, 64, 64),
            Fire(128, 16, 64, 64),
            Fire(128, 32, 128, 128),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(256, 32, 128, 128),
            Fire(256, 48, 192, 192),
            Fire(384, 48, 192, 192),
            Fire(384, 64, 256, 256),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(512, 64, 256, 256),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Conv2d(512, num_classes, 1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )

    def forward(self, x):
        """Return the class scores (logits) for a batch of images."""
        x = self.features(x)
        x = self.classifier(x)
        return torch.flatten(x, 1)


def squeezenet1_0(num_classes: int, input_size: int, dropout=None) -> SqueezeNet:
    """Return a SqueezeNet 1.0 (any input side from 29 up; dropout defaults to 0.5)."""
    return SqueezeNet(num_classes, 0.5 if dropout is None else dropout)
