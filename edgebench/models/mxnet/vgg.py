"""VGG-16 (Simonyan & Zisserman 2014, configuration D, no batch norm) = torchvision ``vgg16``."""

from __future__ import annotations

from edgebench.compat import import_mxnet
from edgebench.models.heads import fc_head
from edgebench.models.mxnet import layers as nn

mx = import_mxnet()

# Configuration D: conv widths, "M" for a 2x2/2 max-pool.
CONFIG_D = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def make_features(config) -> nn.Sequential:
    """Return the conv/ReLU/max-pool stack described by config."""
    layers = []
    channels = 3
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=True)]
            channels = item
    return nn.Sequential(*layers)


class VGG(mx.gluon.HybridBlock):
    """VGG with torchvision's head: adaptive pool to 7x7, FC 4096, 4096, classes, dropout 0.5."""

    def __init__(self, config, num_classes: int, dropout: float = 0.5):
        super().__init__()
        self.features = make_features(config)
        # Inputs smaller than 224 give maps smaller than 7x7; the adaptive pool repeats them,
        # so the classifier (and the parameter count) is the same at every input size.
        self.avgpool = nn.AdaptiveAvgPool2d(7)
        self.classifier = fc_head(nn, 512 * 7 * 7, num_classes, dropout)

    def hybrid_forward(self, F, x):
        """Return the class scores (logits) for a batch of images."""
        x = self.features(x)
        x = self.avgpool(x)
        x = F.flatten(x)
        return self.classifier(x)


def vgg16(num_classes: int, input_size: int, dropout=None) -> VGG:
    """Return a VGG-16 (configuration D; any input side from 32 up; dropout defaults to 0.5)."""
    return VGG(CONFIG_D, num_classes, 0.5 if dropout is None else dropout)
