"""ResNet-152 (He et al. 2016) = torchvision ``resnet152``: bottleneck blocks [3, 8, 36, 3],
stride on the 3x3 conv (the "v1.5" placement torchvision uses)."""

from __future__ import annotations

from edgebench.compat import import_mxnet
from edgebench.models.mxnet import layers as nn

mx = import_mxnet()


class Bottleneck(mx.gluon.HybridBlock):
    """1x1 reduce, 3x3 (strided), 1x1 expand x4, each with BatchNorm, plus the shortcut."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1, downsample=None):
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def hybrid_forward(self, F, x):
        """Return relu(residual branch + shortcut)."""
        shortcut = x if self.downsample is None else self.downsample(x)
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = self.bn3(self.conv3(x))
        x = x + shortcut  # a hybridized graph has no in-place ops; MXNet plans the memory itself
        return self.relu(x)


def make_stage(in_channels: int, width: int, blocks: int, stride: int) -> nn.Sequential:
    """Return one stage of bottleneck blocks; the first one changes width and stride."""
    out_channels = width * Bottleneck.expansion
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
            nn.BatchNorm2d(out_channels),
        )
    layers = [Bottleneck(in_channels, width, stride, downsample)]
    layers += [Bottleneck(out_channels, width) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class ResNet(mx.gluon.HybridBlock):
    """A bottleneck ResNet: 7x7/2 stem, 3x3/2 max-pool, four stages, global average, FC."""

    def __init__(self, blocks, num_classes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, padding=1)
        self.layer1 = make_stage(64, 64, blocks[0], 1)
        self.layer2 = make_stage(256, 128, blocks[1], 2)
        self.layer3 = make_stage(512, 256, blocks[2], 2)
        self.layer4 = make_stage(1024, 512, blocks[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)

    def hybrid_forward(self, F, x):
        """Return the class scores (logits) for a batch of images."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x)
        x = F.flatten(x)
        return self.fc(x)


def resnet152(num_classes: int, input_size: int, dropout=None) -> ResNet:
    """Return a ResNet-152 (it has no dropout; any input side works)."""
    return ResNet((3, 8, 36, 3), num_classes)
