"""PyTorch side of a training run: model, optimizer, one train step and one eval step.

Mirrors mxnet_backend.py line by line; the runner drives either through the same methods.
cuDNN runs under the policy both backends share (edgebench/train/gpu.py). Board side: Python 3.8+.
"""

from __future__ import annotations

import io
from typing import Dict, Tuple

from edgebench.train import gpu

gpu.apply_environment("pytorch")  # NVIDIA_TF32_OVERRIDE: before torch loads cuDNN and cuBLAS

import numpy as np  # noqa: E402
import torch  # noqa: E402

from edgebench import models  # noqa: E402
from edgebench.train.backend import numerics, sgd_hyperparameters  # noqa: E402
from edgebench.train.checkpoint import weights_digest  # noqa: E402


class Backend:
    """A PyTorch model with its SGD optimizer, fed numpy batches."""

    framework = "pytorch"

    def __init__(self, model_name, num_classes, input_size, hparams, seed, use_gpu, threads):
        gpu.apply_environment("pytorch")
        gpu.apply_torch(torch)
        torch.set_num_threads(threads)
        torch.manual_seed(seed)  # dropout masks; initial weights come from initial_weights below
        self.device = torch.device("cuda:0" if use_gpu else "cpu")
        if use_gpu:
            torch.cuda.reset_peak_memory_stats(self.device)  # the peak of this run, not of the process
        dtype, dropout = numerics(hparams)  # float64 and no dropout in verification mode
        self.dtype = getattr(torch, dtype)
        self.model = models.build("pytorch", model_name, num_classes, input_size=input_size, dropout=dropout)
        weights = models.initial_weights(model_name, num_classes, input_size=input_size, seed=seed, framework="pytorch")
        models.load_weights("pytorch", self.model, weights)
        self.model.to(self.device, self.dtype)  # float32 -> float64 is exact: the start stays the shared one
        self.loss = torch.nn.CrossEntropyLoss()  # mean over the batch, as Gluon's Trainer.step(batch_size)
        sgd = sgd_hyperparameters(hparams)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=sgd["learning_rate"],
            momentum=sgd["momentum"],
            weight_decay=sgd["weight_decay"],
        )

    def _tensors(self, x: np.ndarray, y: np.ndarray):
        return torch.from_numpy(x).to(self.device, self.dtype), torch.from_numpy(y).to(self.device)

    def _mode(self, training: bool) -> None:
        # Module.train() walks every submodule (hundreds in DenseNet-121): switch only on a change.
        if self.model.training != training:
            self.model.train(training)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> Tuple[float, np.ndarray]:
        """Return (mean loss, logits) of one SGD step on a batch."""
        self._mode(True)
        inputs, labels = self._tensors(x, y)
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.model(inputs)
        loss = self.loss(logits, labels)
        loss.backward()
        self.optimizer.step()
        return loss.item(), logits.detach().cpu().numpy()

    def eval_step(self, x: np.ndarray, y: np.ndarray) -> Tuple[float, np.ndarray]:
        """Return (mean loss, logits) of a batch in evaluation mode."""
        self._mode(False)
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

    def weights_bytes(self) -> int:
        """Return the size of the model's weights in bytes (a checkpoint holds them and the momentum)."""
        return sum(int(array.nbytes) for array in models.to_numpy_weights("pytorch", self.model).values())

    def state_bytes(self) -> Dict[str, bytes]:
        """Return the model and optimizer state, serialized for a checkpoint."""
        buffer = io.BytesIO()
        torch.save({"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}, buffer)
        return {"torch": buffer.getvalue()}

    def load_state_bytes(self, state: Dict[str, bytes]) -> None:
        """Restore the model and optimizer from state_bytes() output."""
        saved = torch.load(io.BytesIO(state["torch"]), map_location=self.device, weights_only=True)
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])

    def device_report(self) -> dict:
        """Return what the run trained on: device, GPU name, driver, peak GPU memory, cuDNN settings."""
        return gpu.guarded_report(self.framework, str(self.device), self._device_report)

    def _device_report(self) -> dict:
        report = gpu.cpu_report(self.framework)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            report.update(gpu.gpu_facts(self.device.index or 0), device=str(self.device))
            report["gpu_name"] = torch.cuda.get_device_name(self.device)
            report["gpu_peak_memory_mb"] = torch.cuda.max_memory_allocated(self.device) / 2**20
            report["gpu_peak_memory_method"] = ("torch.cuda.max_memory_allocated since the backend was built "
                                                "(tensors only: no CUDA context, no allocator cache)")
            for key in ("gpu_name", "gpu_peak_memory_mb"):
                report["unavailable"].pop(key, None)
        settings, flags = gpu.torch_settings(torch)
        compile_version = getattr(getattr(torch._C, "_cudnn", None), "getCompileVersion", None)
        report.update(cuda_build_version=torch.version.cuda,
                      cudnn_build_version=".".join(str(n) for n in compile_version()) if compile_version else None,
                      cudnn_runtime_version=gpu.format_cudnn_version(torch.backends.cudnn.version())
                      if torch.backends.cudnn.is_available() else None,
                      cudnn_settings=settings, cudnn_policy=dict(gpu.CUDNN_POLICY), framework_flags=flags)
        for key in ("cuda_build_version", "cudnn_build_version", "cudnn_runtime_version"):
            if report[key] is None:
                report["unavailable"][key] = "this torch was built without CUDA/cuDNN"
        return report

    @staticmethod
    def gpu_usable() -> bool:
        """Return whether this framework can train on a GPU here."""
        return torch.cuda.is_available()

    @staticmethod
    def versions() -> dict:
        """Return the framework's version strings for provenance."""
        return {"torch": torch.__version__, "cuda": torch.version.cuda}
