"""LeNet-5 (LeCun et al.) on RGB input: conv 6@5x5, pool, conv 16@5x5, pool, FC 120, 84, classes."""

from __future__ import annotations

import torch
from torch import nn

from edgebench.models.shapes import conv_output_size


def feature_size(input_size: int) -> int:
    """Return the side of the last feature map for a square input side."""
    size = conv_output_size(input_size, 5)
    size = conv_output_size(size, 2, 2)
    size = conv_output_size(size, 5)
    return conv_output_size(size, 2, 2)


class LeNet(nn.Module):
    """LeNet-5 with ReLU and max-pooling; the first FC layer's width follows the input size."""

    def __init__(self, num_classes: int, input_size: int):
        super().__init__()
        side = feature_size(input_size)
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 5),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * side * side, 120),
            nn.ReLU(inplace=True),
            nn.Linear(120, 84),
            nn.ReLU(inplace=True),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        """Return the class scores (logits) for a batch of images."""
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def lenet(num_classes: int, input_size: int, dropout=None) -> LeNet:
    """Return a LeNet-5 for the given classes and input side (it has no dropout)."""
    return LeNet(num_classes, input_size)
