"""MXNet (Gluon) side of a training run: model, optimizer, one train step and one eval step.

Mirrors torch_backend.py line by line; the runner drives either through the same methods.
"""

import numpy as np

from edgebench import models
from edgebench.compat import import_mxnet

mx = import_mxnet()
from mxnet import autograd, gluon  # noqa: E402  (needs the numpy shim above)


class Backend:
    """A hybridized Gluon model with its SGD trainer, fed numpy batches."""

    framework = "mxnet"

    def __init__(self, model_name, num_classes, input_size, hparams, seed, use_gpu, threads):
        # Thread counts come from OMP_NUM_THREADS, set before mxnet was imported (hwconfig.apply).
        mx.random.seed(seed)  # dropout masks; initial weights come from initial_weights below
        self.ctx = mx.gpu(0) if use_gpu else mx.cpu()
        self.model = models.build("mxnet", model_name, num_classes, input_size=input_size)
        weights = models.initial_weights(model_name, num_classes, input_size=input_size, seed=seed)
        models.load_weights("mxnet", self.model, weights)
        self.model.collect_params().reset_ctx(self.ctx)
        self.loss = gluon.loss.SoftmaxCrossEntropyLoss()  # per sample; Trainer.step(n) takes the mean
        self.trainer = gluon.Trainer(
            self.model.collect_params(),
            "sgd",
            {
                "learning_rate": hparams["learning_rate"],
                "momentum": hparams["momentum"],
                "wd": hparams["weight_decay"],
            },
        )

    def _arrays(self, x: np.ndarray, y: np.ndarray):
        return mx.nd.array(x, ctx=self.ctx), mx.nd.array(y, ctx=self.ctx, dtype="float32")  # Gluon losses pick by float labels

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Return (mean loss, logits) of one SGD step on a batch."""
        inputs, labels = self._arrays(x, y)
        with autograd.record(train_mode=True):
            logits = self.model(inputs)
            loss = self.loss(logits, labels)
        loss.backward()
        self.trainer.step(len(y))
        return float(loss.mean().asscalar()), logits.asnumpy()

    def eval_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Return (mean loss, logits) of a batch in evaluation mode."""
        inputs, labels = self._arrays(x, y)
        logits = self.model(inputs)  # outside autograd.record: predict mode (no dropout, BN running stats)
        loss = self.loss(logits, labels)
        return float(loss.mean().asscalar()), logits.asnumpy()

    @staticmethod
    def gpu_usable() -> bool:
        """Return whether this framework can train on a GPU here."""
        return mx.context.num_gpus() > 0

    @staticmethod
    def versions() -> dict:
        """Return the framework's version strings for provenance."""
        return {"mxnet": mx.__version__}
