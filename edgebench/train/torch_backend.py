"""PyTorch side of a training run: model, optimizer, one train step and one eval step.

Mirrors mxnet_backend.py line by line; the runner drives either through the same methods.
"""

import io

import numpy as np
import torch

from edgebench import models
from edgebench.train.checkpoint import weights_digest


class Backend:
    """A PyTorch model with its SGD optimizer, fed numpy batches."""

    framework = "pytorch"

    def __init__(self, model_name, num_classes, input_size, hparams, seed, use_gpu, threads):
        torch.set_num_threads(threads)
        torch.manual_seed(seed)  # dropout masks; initial weights come from initial_weights below
        self.device = torch.device("cuda:0" if use_gpu else "cpu")
        self.model = models.build("pytorch", model_name, num_classes, input_size=input_size)
        weights = models.initial_weights(model_name, num_classes, input_size=input_size, seed=seed, framework="pytorch")
        models.load_weights("pytorch", self.model, weights)
        self.model.to(self.device)
        self.loss = torch.nn.CrossEntropyLoss()  # mean over the batch, as Gluon's Trainer.step(batch_size)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=hparams["learning_rate"],
            momentum=hparams["momentum"],
            weight_decay=hparams["weight_decay"],
        )

    def _tensors(self, x: np.ndarray, y: np.ndarray):
        return torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Return (mean loss, logits) of one SGD step on a batch."""
        self.model.train()
        inputs, labels = self._tensors(x, y)
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.model(inputs)
        loss = self.loss(logits, labels)
        loss.backward()
        self.optimizer.step()
        return loss.item(), logits.detach().cpu().numpy()

    def eval_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Return (mean loss, logits) of a batch in evaluation mode."""
        self.model.eval()
        inputs, labels = self._tensors(x, y)
        with torch.no_grad():
            logits = self.model(inputs)
            loss = self.loss(logits, labels)
        return loss.item(), logits.cpu().numpy()

    def seed(self, seed: int) -> None:
        """Reseed the framework's random streams (dropout) for the next epoch."""
        torch.manual_seed(seed)

    def weights_digest(self) -> str:
        """Return a digest of the model's weights, comparable across frameworks."""
        return weights_digest(models.to_numpy_weights("pytorch", self.model))

    def state_bytes(self) -> dict[str, bytes]:
        """Return the model and optimizer state, serialized for a checkpoint."""
        buffer = io.BytesIO()
        torch.save({"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}, buffer)
        return {"torch": buffer.getvalue()}

    def load_state_bytes(self, state: dict[str, bytes]) -> None:
        """Restore the model and optimizer from state_bytes() output."""
        saved = torch.load(io.BytesIO(state["torch"]), map_location=self.device, weights_only=True)
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])

    @staticmethod
    def gpu_usable() -> bool:
        """Return whether this framework can train on a GPU here."""
        return torch.cuda.is_available()

    @staticmethod
    def versions() -> dict:
        """Return the framework's version strings for provenance."""
        return {"torch": torch.__version__, "cuda": torch.version.cuda}
