"""DenseNet-121 (Huang et al. 2017) = torchvision ``densenet121``: growth 32, blocks [6, 12, 24,
16], bottleneck width 4x growth, compression 0.5, no dropout."""

from __future__ import annotations

from edgebench.compat import import_mxnet
from edgebench.models.mxnet import layers as nn

mx = import_mxnet()


class DenseLayer(mx.gluon.HybridBlock):
    """BN-ReLU-1x1 conv to 4*growth, BN-ReLU-3x3 conv to growth new channels."""

    def __init__(self, in_channels: int, growth: int, bottleneck: int, dropout: float):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, bottleneck * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bottleneck * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bottleneck * growth, growth, 3, padding=1, bias=False)
        self.dropout = nn.Dropout(dropout)

    def hybrid_forward(self, F, x):
        """Return the growth new feature maps computed from all earlier ones."""
        x = self.conv1(self.relu1(self.norm1(x)))
        x = self.conv2(self.relu2(self.norm2(x)))
        return self.dropout(x)


class DenseBlock(nn.Sequential):
    """Dense layers, each fed the concatenation of the block input and all earlier outputs."""

    def __init__(self, layers: int, in_channels: int, growth: int, bottleneck: int, dropout: float):
        super().__init__()
        for i in range(layers):
            layer = DenseLayer(in_channels + i * growth, growth, bottleneck, dropout)
            self.add_module(f"denselayer{i + 1}", layer)

    def hybrid_forward(self, F, x):
        """Return the block input with every layer's new maps appended along channels."""
        for layer in self:
            x = F.concat(*[x, layer(x)], dim=1)
        return x


def transition(in_channels: int, out_channels: int) -> nn.Sequential:
    """Return BN-ReLU-1x1 conv-2x2 average pool, halving the side between dense blocks."""
    layers = nn.Sequential()
    layers.add_module("norm", nn.BatchNorm2d(in_channels))
    layers.add_module("relu", nn.ReLU(inplace=True))
    layers.add_module("conv", nn.Conv2d(in_channels, out_channels, 1, bias=False))
    layers.add_module("pool", nn.AvgPool2d(2, 2))
    return layers


class DenseNet(mx.gluon.HybridBlock):
    """DenseNet-BC with torchvision's layout: features (stem, blocks, transitions, norm5), FC."""

    def __init__(self, growth, blocks, stem_channels, num_classes, bottleneck=4, dropout=0.0):
        super().__init__()
        self.features = nn.Sequential()
        self.features.add_module("conv0", nn.Conv2d(3, stem_channels, 7, stride=2, padding=3, bias=False))
        self.features.add_module("norm0", nn.BatchNorm2d(stem_channels))
        self.features.add_module("relu0", nn.ReLU(inplace=True))
        self.features.add_module("pool0", nn.MaxPool2d(3, 2, padding=1))
        channels = stem_channels
        for i, layers in enumerate(blocks):
            block = DenseBlock(layers, channels, growth, bottleneck, dropout)
            self.features.add_module(f"denseblock{i + 1}", block)
            channels += layers * growth
            if i != len(blocks) - 1:
                self.features.add_module(f"transition{i + 1}", transition(channels, channels // 2))
                channels //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def hybrid_forward(self, F, x):
        """Return the class scores (logits) for a batch of images."""
        x = self.relu(self.features(x))
        x = self.avgpool(x)
        x = F.flatten(x)
        return self.classifier(x)


def densenet121(num_classes: int, input_size: int, dropout=None) -> DenseNet:
    """Return a DenseNet-121 (any input side from 29 up; dropout after each dense layer, default 0)."""
    return DenseNet(32, (6, 12, 24, 16), 64, num_classes, dropout=0.0 if dropout is None else dropout)
