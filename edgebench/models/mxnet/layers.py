"""Gluon layers under torch.nn's names and argument conventions.

The MXNet model files call these where the PyTorch files call ``torch.nn``, so that ``diff``
of a model's two files shows only framework differences. Each factory converts torch's
convention into Gluon's where they differ (BatchNorm momentum, argument names) and always
passes the input width, so parameters have their shapes without deferred initialization.
"""

from __future__ import annotations

from edgebench.compat import import_mxnet

mx = import_mxnet()
nn = mx.gluon.nn


def Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
    """Return a Gluon Conv2D configured like torch.nn.Conv2d."""
    return nn.Conv2D(
        out_channels, kernel_size, strides=stride, padding=padding, use_bias=bias, in_channels=in_channels
    )


def Linear(in_features, out_features, bias=True):
    """Return a Gluon Dense configured like torch.nn.Linear (it flattens its input itself)."""
    return nn.Dense(out_features, use_bias=bias, in_units=in_features)


def BatchNorm2d(num_features, eps=1e-5, momentum=0.1):
    """Return a Gluon BatchNorm configured like torch.nn.BatchNorm2d."""
    # torch weighs the new batch statistic by `momentum`, Gluon weighs the old running value
    # by it: torch 0.1 is Gluon 0.9.
    return nn.BatchNorm(momentum=1.0 - momentum, epsilon=eps, in_channels=num_features)


def ReLU(inplace=False):
    """Return a Gluon ReLU activation (``inplace`` is accepted for symmetry and ignored)."""
    return nn.Activation("relu")


def Dropout(p=0.5):
    """Return a Gluon Dropout configured like torch.nn.Dropout."""
    return nn.Dropout(p)


def MaxPool2d(kernel_size, stride=None, padding=0, ceil_mode=False):
    """Return a Gluon MaxPool2D configured like torch.nn.MaxPool2d."""
    return nn.MaxPool2D(kernel_size, strides=stride or kernel_size, padding=padding, ceil_mode=ceil_mode)


def AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Return a Gluon AvgPool2D configured like torch.nn.AvgPool2d (padding counted by default)."""
    return nn.AvgPool2D(
        kernel_size,
        strides=stride or kernel_size,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )


class AdaptiveAvgPool2d(mx.gluon.HybridBlock):
    """Average pooling to a fixed output side, like torch.nn.AdaptiveAvgPool2d."""

    def __init__(self, output_size):
        super().__init__()
        self._output_size = output_size

    def hybrid_forward(self, F, x):
        """Return x pooled to output_size x output_size."""
        if self._output_size in (1, (1, 1)):
            # The global pool is the common case and has the faster kernel.
            return F.Pooling(x, kernel=(1, 1), pool_type="avg", global_pool=True)
        return F.contrib.AdaptiveAvgPooling2D(x, output_size=self._output_size)


class LocalResponseNorm(mx.gluon.HybridBlock):
    """Cross-channel LRN with torch.nn.LocalResponseNorm's arguments (alpha divided by size)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self._args = dict(nsize=size, alpha=alpha, beta=beta, knorm=k)

    def hybrid_forward(self, F, x):
        """Return x divided by (k + alpha/size * sum of squares over size channels) ** beta."""
        # MXNet's LRN also divides alpha by the window size (see mx.nd.LRN's docstring), so
        # torch's arguments carry over unchanged; the same-output tests pin this down.
        return F.LRN(x, **self._args)


class Sequential(nn.HybridSequential):
    """A HybridSequential whose children may carry names, like torch.nn.Sequential(OrderedDict).

    Children added with ``add`` are named by position ("0", "1", ...), as in torch, so the
    structured parameter names (``features.0.weight``) match torch's state_dict keys.
    """

    def __init__(self, *blocks):
        super().__init__()
        self.add(*blocks)

    def __iter__(self):
        """Return an iterator over the children in order, as iterating torch's Sequential does."""
        return iter(self._children.values())

    def add_module(self, name, block):
        """Append block under name (torch's spelling) and return None."""
        self.register_child(block, name)
