"""MXNet (Gluon) side of a training run: model, optimizer, one train step and one eval step.

Mirrors torch_backend.py line by line; the runner drives either through the same methods.
"""

import tempfile
from pathlib import Path

import numpy as np

from edgebench import models
from edgebench.compat import import_mxnet
from edgebench.train.checkpoint import weights_digest

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
        weights = models.initial_weights(model_name, num_classes, input_size=input_size, seed=seed, framework="mxnet")
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

    def seed(self, seed: int) -> None:
        """Reseed the framework's random streams (dropout) for the next epoch."""
        mx.random.seed(seed)

    def weights_digest(self) -> str:
        """Return a digest of the model's weights, comparable across frameworks."""
        return weights_digest(models.to_numpy_weights("mxnet", self.model))

    def state_bytes(self) -> dict[str, bytes]:
        """Return the model and optimizer state, serialized for a checkpoint."""
        # Gluon serializes to files only; a private temporary directory holds them briefly.
        with tempfile.TemporaryDirectory() as tmp:
            params, trainer = Path(tmp, "model.params"), Path(tmp, "trainer.states")
            self.model.save_parameters(str(params))
            self.trainer.save_states(str(trainer))
            return {"params": params.read_bytes(), "trainer": trainer.read_bytes()}

    def load_state_bytes(self, state: dict[str, bytes]) -> None:
        """Restore the model and optimizer from state_bytes() output."""
        with tempfile.TemporaryDirectory() as tmp:
            params, trainer = Path(tmp, "model.params"), Path(tmp, "trainer.states")
            params.write_bytes(state["params"])
            trainer.write_bytes(state["trainer"])
            self.model.load_parameters(str(params), ctx=self.ctx)
            self.trainer.load_states(str(trainer))

    @staticmethod
    def gpu_usable() -> bool:
        """Return whether this framework can train on a GPU here."""
        return mx.context.num_gpus() > 0

    @staticmethod
    def versions() -> dict:
        """Return the framework's version strings for provenance."""
        return {"mxnet": mx.__version__}
