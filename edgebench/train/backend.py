"""The interface both framework backends implement (torch_backend.py, mxnet_backend.py).

The runner drives a backend only through these methods, so the epoch loop, checkpoints and
scoring are the same code for both frameworks. Board side: Python 3.8+.
"""

from __future__ import annotations

import importlib
from typing import Dict, Optional, Tuple

import numpy as np

from edgebench.settings import Training, section

try:  # typing.Protocol is 3.8+; this module must import on every board-side Python
    from typing import Protocol
except ImportError:  # pragma: no cover
    Protocol = object  # type: ignore[assignment]

# framework -> the module whose `Backend` class implements it
BACKEND_MODULES = {"pytorch": "edgebench.train.torch_backend", "mxnet": "edgebench.train.mxnet_backend"}

# Verification mode (config `training.verification`): both frameworks compute the same function,
# in float64 and without dropout (whose masks each framework draws from its own stream), so
# that their weights can be compared after every step (tests/board/test_verification.py).
# Normal runs train in float32, the loader's dtype, with each model's own dropout.
VERIFICATION_DTYPE, VERIFICATION_DROPOUT = "float64", 0.0


def training_settings(hparams) -> Training:
    """Return a run's training section typed: spec.training as it is, or a dict (a test's, a
    benchmark's) over the schema's defaults."""
    return section(Training, hparams)


def verification_mode(hparams) -> bool:
    """Return whether a run's training section asks for verification mode."""
    return training_settings(hparams).verification


def numerics(hparams) -> Tuple[str, Optional[float]]:
    """Return (dtype, dropout override or None) of a run's training section."""
    if verification_mode(hparams):
        return VERIFICATION_DTYPE, VERIFICATION_DROPOUT
    return "float32", None


def sgd_hyperparameters(hparams) -> Dict[str, float]:
    """Return the run's SGD learning rate, momentum and weight decay, as both frameworks apply them.

    MXNet's optimizer ops hold them in float32 (0.001 becomes 0.0010000000475). torch's float32
    kernels round them to float32 too, so its float32 numbers are the same either way (a test
    pins this down), but in float64 it would apply the exact decimals: both get the float32 values.
    """
    training = training_settings(hparams)
    return {key: float(np.float32(getattr(training, key))) for key in ("learning_rate", "momentum", "weight_decay")}


class Backend(Protocol):
    """One framework's model, optimizer and steps, fed numpy batches."""

    framework: str

    def __init__(self, model_name: str, num_classes: int, input_size: int, hparams: Training, seed: int,
                 use_gpu: bool, threads: int) -> None: ...

    def train_step(self, x: np.ndarray, y: np.ndarray) -> Tuple[float, np.ndarray]:
        """Return (mean loss, logits) of one SGD step on a batch."""

    def eval_step(self, x: np.ndarray, y: np.ndarray) -> Tuple[float, np.ndarray]:
        """Return (mean loss, logits) of a batch in evaluation mode."""

    def seed(self, seed: int) -> None:
        """Reseed the framework's random streams (dropout) for the next epoch."""

    def weights_digest(self) -> str:
        """Return a digest of the model's weights, comparable across frameworks."""

    def weights_bytes(self) -> int:
        """Return the size of the model's weights in bytes (a checkpoint holds them and the momentum)."""

    def state_bytes(self) -> Dict[str, bytes]:
        """Return the model and optimizer state, serialized for a checkpoint."""

    def load_state_bytes(self, state: Dict[str, bytes]) -> None:
        """Restore the model and optimizer from state_bytes() output."""

    def device_report(self) -> dict:
        """Return what the run trained on: device, GPU name, driver, peak GPU memory, cuDNN settings."""

    @staticmethod
    def gpu_usable() -> bool:
        """Return whether this framework can train on a GPU here."""

    @staticmethod
    def versions() -> dict:
        """Return the framework's version strings for provenance."""


def load_backend(framework: str):
    """Return the Backend class of a framework (imports the framework)."""
    if framework not in BACKEND_MODULES:
        raise ValueError(f"framework {framework!r}: unknown; known: {', '.join(BACKEND_MODULES)}")
    return importlib.import_module(BACKEND_MODULES[framework]).Backend
