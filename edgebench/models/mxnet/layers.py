"""Gluon layers under torch.nn's names and argument conventions.

The MXNet model files call these where the PyTorch files call ``torch.nn``, so that ``diff``
of a model's two files shows only framework differences. Each factory converts torch's
convention into Gluon's where they differ (BatchNorm momentum, argument names) and always
passes the input width, so parameters have their shapes without deferred initialization.
One difference cannot be converted by arguments: what BatchNorm stores in running_var after a
training step; UnbiasedRunningVar makes Gluon's layers keep what torch's keep.
"""

from __future__ import annotations

import numpy as np

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


class BatchNorm2d(nn.BatchNorm):
    """A Gluon BatchNorm configured like torch.nn.BatchNorm2d, that knows its map size.

    Its running_var follows torch's convention only when trained under UnbiasedRunningVar.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        # torch weighs the new batch statistic by `momentum`, Gluon weighs the old running value
        # by it: torch 0.1 is Gluon 0.9.
        super().__init__(momentum=1.0 - momentum, epsilon=eps, in_channels=num_features)
        # H x W of its input in the last imperative forward (models.build runs one at the
        # model's input size): the values per channel are that times the batch size.
        self.map_size = None

    def _alias(self):
        return "batchnorm"  # Gluon's parameter names stay nn.BatchNorm's (batchnorm0_gamma, ...)

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        """Return the normalized x (Gluon's BatchNorm), noting the map size when run imperatively."""
        if F is mx.nd:
            self.map_size = x.size // (x.shape[0] * x.shape[1])
        return super().hybrid_forward(F, x, gamma, beta, running_mean, running_var)


def op_stores_unbiased_variance(ctx, dtype) -> bool:
    """Return whether MXNet's BatchNorm op, trained on ctx in dtype, stores the unbiased batch variance."""
    # It depends on the implementation the op dispatches to: the CPU one (native or MKLDNN)
    # and the non-cuDNN GPU one store the biased variance, cuDNN's the unbiased one
    # (apache/mxnet#18751, #21111). Asking the op itself needs no list of builds. Values
    # 0, 1, 2, 3 have biased variance 1.25 and unbiased 5/3; momentum 0 stores the batch's own.
    x = mx.nd.arange(4, ctx=ctx, dtype=dtype).reshape((4, 1, 1, 1))
    gamma, beta = mx.nd.ones(1, ctx=ctx, dtype=dtype), mx.nd.zeros(1, ctx=ctx, dtype=dtype)
    mean, var = mx.nd.zeros(1, ctx=ctx, dtype=dtype), mx.nd.ones(1, ctx=ctx, dtype=dtype)
    x.attach_grad()
    with mx.autograd.record(train_mode=True):
        y = mx.nd.BatchNorm(x, gamma, beta, mean, var, eps=1e-5, momentum=0.0, fix_gamma=False)
    y.backward()  # MXNet's CPU op updates its running statistics in the backward pass
    stored = float(var.asscalar())
    return abs(stored - 5.0 / 3.0) < abs(stored - 1.25)


class UnbiasedRunningVar:
    """Makes a Gluon model's BatchNorm layers keep torch's running variance: the unbiased one.

    The one place where the running-variance convention is decided, for both frameworks. After
    a training step, torch stores running_var R = m R + (1 - m) v n / (n - 1), v being the
    batch's biased variance over its n = batch x H x W values per channel and m the momentum
    both frameworks hold alike (models.match_gluon_batchnorm_momentum): F.batch_norm does so
    on every device, and so does MXNet's cuDNN op; MXNet's CPU op (and its non-cuDNN GPU one)
    stores m R + (1 - m) v. Where this model's op is biased (asked once, by
    op_stores_unbiased_variance), its layers hold S = R (n - 1) / n while they train: the op's
    own biased update of S is then exactly the unbiased update of R, at no cost per step.
    settle() turns S back into R before anything reads or writes running_var (evaluation,
    checkpoints, weights); training() rescales S when the batch size changes.
    """

    def __init__(self, block):
        layers = [b for b in _descendants(block) if isinstance(b, BatchNorm2d)]
        unsized = [b.name for b in layers if b.map_size is None]
        if unsized:
            raise ValueError(f"{unsized[0]}: map size unknown; run one imperative forward first (models.build does)")
        if layers:
            probe = layers[0].running_var
            if op_stores_unbiased_variance(probe.list_ctx()[0], probe.dtype):
                layers = []  # the op already stores what torch stores: nothing to convert
        self.layers = layers
        self._batch_size = None  # the batch size the layers' S is scaled for; None: they hold R

    def training(self, batch_size: int) -> None:
        """Before a training step of batch_size samples: have the layers hold S for that batch size."""
        if batch_size == self._batch_size:
            return
        # All factors first: a batch too small for one layer must leave every layer as it was.
        factors = [_unbiased_to_biased(batch_size * layer.map_size) for layer in self.layers]
        self.settle()
        for layer, factor in zip(self.layers, factors):
            running_var = layer.running_var.data()
            running_var *= factor
        self._batch_size = batch_size

    def settle(self) -> None:
        """Have the layers hold running_var itself: before evaluating, checkpointing or reading weights."""
        if self._batch_size is None:
            return
        for layer in self.layers:
            running_var = layer.running_var.data()
            running_var /= _unbiased_to_biased(self._batch_size * layer.map_size)
        self._batch_size = None


def _unbiased_to_biased(n: int) -> float:
    """Return (n - 1) / n, the biased variance of n values over their unbiased one."""
    if n < 2:  # torch refuses such a batch in training mode; its unbiased variance is 0 / 0
        raise ValueError(f"BatchNorm needs more than 1 value per channel when training, got {n}")
    return (n - 1) / n


def _descendants(block):
    """Yield block and every block below it, in registration order."""
    yield block
    for child in block._children.values():
        yield from _descendants(child)


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
        self._composed = False  # True after a cast to another dtype than float32

    def cast(self, dtype):
        """Cast to dtype; outside float32 the LRN is composed of elementwise ops and a pooling."""
        # MXNet's LRN op runs in float32 only (its CPU kernel rejects float64, and it holds
        # alpha as a float32); verification mode trains in float64 (edgebench/train/backend.py).
        composed = np.dtype(dtype) != np.float32
        if composed and self._args["nsize"] % 2 == 0:  # torch pads an even window unevenly; Pooling cannot
            raise ValueError(f"LRN size {self._args['nsize']}: the composed LRN takes odd sizes only")
        self._composed = composed
        super().cast(dtype)

    def hybrid_forward(self, F, x):
        """Return x divided by (k + alpha/size * sum of squares over size channels) ** beta."""
        # MXNet's LRN also divides alpha by the window size (see mx.nd.LRN's docstring), so
        # torch's arguments carry over unchanged; the same-output tests pin this down.
        if not self._composed:
            return F.LRN(x, **self._args)
        # torch's own formula (F.local_response_norm): the mean of squares over a zero-padded
        # window of channels, as a pooling over a (N, 1, C, H, W) view.
        size, alpha, beta, k = (self._args[key] for key in ("nsize", "alpha", "beta", "knorm"))
        squares = F.expand_dims(x * x, axis=1)
        mean = F.Pooling(squares, kernel=(size, 1, 1), stride=(1, 1, 1), pad=(size // 2, 0, 0), pool_type="avg",
                         count_include_pad=True)
        return x / (F.squeeze(mean, axis=1) * alpha + k) ** beta


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
