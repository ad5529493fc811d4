"""AlexNet as in Krizhevsky et al. 2012, single tower: conv 96@11x11/4, 256@5x5, 384, 384, 256@3x3,
LRN after conv1 and conv2, max-pool 3/2, FC 4096, 4096 with dropout 0.5."""

from __future__ import annotations

import torch
from torch import nn

from edgebench.models.heads import fc_head
from edgebench.models.shapes import conv_output_size

# The paper's LRN: b = a / (k + alpha * sum(a^2 over n channels)) ** beta with k=2, n=5,
# alpha=1e-4, beta=0.75. Both frameworks divide alpha by n, so they get alpha * n.
LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_K = 5, 1e-4 * 5, 0.75, 2.0


def feature_size(input_size: int) -> int:
    """Return the side of the last feature map for a square input side."""
    size = conv_output_size(input_size, 11, 4, 2)
    size = conv_output_size(size, 3, 2)
    size = conv_output_size(size, 5, 1, 2)
    size = conv_output_size(size, 3, 2)
    return conv_output_size(size, 3, 2)


class AlexNet(nn.Module):
    """The 2012 AlexNet in one tower; the first FC layer's width follows the input size."""

    def __init__(self, num_classes: int, input_size: int, dropout: float = 0.5):
        super().__init__()
        side = feature_size(input_size)
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, 11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(LRN_SIZE, alpha=LRN_ALPHA, beta=LRN_BETA, k=LRN_K),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(LRN_SIZE, alpha=LRN_ALPHA, beta=LRN_BETA, k=LRN_K),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
        )
        self.classifier = fc_head(nn, 256 * side * side, num_classes, dropout)

    def forward(self, x):
        """Return the class scores (logits) for a batch of images."""
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def alexnet(num_classes: int, input_size: int, dropout=None) -> AlexNet:
    """Return an AlexNet for the given classes and input side (dropout defaults to 0.5)."""
    return AlexNet(num_classes, input_size, 0.5 if dropout is None else dropout)
