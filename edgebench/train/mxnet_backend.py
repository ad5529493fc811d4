"""MXNet (Gluon) side of a training run: model, optimizer, one train step and one eval step.

Mirrors torch_backend.py line by line; the runner drives either through the same methods.
cuDNN runs under the policy both backends share (edgebench/train/gpu.py). Board side: Python 3.8+.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Dict, Tuple

from edgebench.train import gpu

gpu.apply_environment("mxnet")  # MXNet reads its cuDNN variables from the environment: before the import

import numpy as np  # noqa: E402

from edgebench import models  # noqa: E402
from edgebench.compat import import_mxnet  # noqa: E402
from edgebench.train.backend import numerics, sgd_hyperparameters, verification_mode  # noqa: E402
from edgebench.train.checkpoint import weights_digest  # noqa: E402

mx = import_mxnet()
from mxnet import autograd, gluon  # noqa: E402  (needs the numpy shim above)

from edgebench.models.mxnet.layers import UnbiasedRunningVar  # noqa: E402


class Backend:
    """A hybridized Gluon model with its SGD trainer, fed numpy batches."""

    framework = "mxnet"

    def __init__(self, model_name, num_classes, input_size, hparams, seed, use_gpu, threads):
        # Thread counts come from OMP_NUM_THREADS, set before mxnet was imported (hwconfig.apply).
        gpu.apply_environment("mxnet")  # idempotent: restores the policy if the environment was changed since
        mx.random.seed(seed)  # dropout masks; initial weights come from initial_weights below
        self.ctx = mx.gpu(0) if use_gpu else mx.cpu()
        self.dtype, dropout = numerics(hparams)  # float64 and no dropout in verification mode
        self.model = models.build("mxnet", model_name, num_classes, input_size=input_size, dropout=dropout)
        weights = models.initial_weights(model_name, num_classes, input_size=input_size, seed=seed, framework="mxnet")
        models.load_weights("mxnet", self.model, weights)
        if self.dtype != "float32":
            self.model.cast(self.dtype)  # float32 -> float64 is exact: the start stays the shared one
        self.model.collect_params().reset_ctx(self.ctx)
        # torch's running_var convention; settle() before anything reads or writes the weights.
        self.running_var = UnbiasedRunningVar(self.model)
        self.loss = gluon.loss.SoftmaxCrossEntropyLoss()  # per sample; Trainer.step(n) takes the mean
        # Trainer.step(n) scales the summed gradients by 1/n, which its optimizer op holds in float32
        # (exact for powers of two only): verification mode takes the mean in the graph instead.
        self.mean_in_graph = verification_mode(hparams)
        sgd = sgd_hyperparameters(hparams)
        self.trainer = gluon.Trainer(
            self.model.collect_params(),
            "sgd",
            {
                "learning_rate": sgd["learning_rate"],
                "momentum": sgd["momentum"],
                "wd": sgd["weight_decay"],
            },
        )

    def _arrays(self, x: np.ndarray, y: np.ndarray):
        # Gluon losses pick by float labels, of the logits' dtype.
        return mx.nd.array(x, ctx=self.ctx, dtype=self.dtype), mx.nd.array(y, ctx=self.ctx, dtype=self.dtype)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> Tuple[float, np.ndarray]:
        """Return (mean loss, logits) of one SGD step on a batch."""
        inputs, labels = self._arrays(x, y)
        self.running_var.training(len(y))
        with autograd.record(train_mode=True):
            logits = self.model(inputs)
            loss = self.loss(logits, labels)
            objective = loss.mean() if self.mean_in_graph else loss
        objective.backward()
        self.trainer.step(1 if self.mean_in_graph else len(y))
        return float(loss.mean().asscalar()), logits.asnumpy()

    def eval_step(self, x: np.ndarray, y: np.ndarray) -> Tuple[float, np.ndarray]:
        """Return (mean loss, logits) of a batch in evaluation mode."""
        inputs, labels = self._arrays(x, y)
        self.running_var.settle()
        logits = self.model(inputs)  # outside autograd.record: predict mode (no dropout, BN running stats)
        loss = self.loss(logits, labels)
        return float(loss.mean().asscalar()), logits.asnumpy()

    def seed(self, seed: int) -> None:
        """Reseed the framework's random streams (dropout) for the next epoch."""
        mx.random.seed(seed)

    def weights_digest(self) -> str:
        """Return a digest of the model's weights, comparable across frameworks."""
        self.running_var.settle()
        return weights_digest(models.to_numpy_weights("mxnet", self.model))

    def weights_bytes(self) -> int:
        """Return the size of the model's weights in bytes (a checkpoint holds them and the momentum)."""
        return sum(int(array.nbytes) for array in models.to_numpy_weights("mxnet", self.model).values())

    def state_bytes(self) -> Dict[str, bytes]:
        """Return the model and optimizer state, serialized for a checkpoint."""
        self.running_var.settle()
        # Gluon serializes to files only; a private temporary directory holds them briefly.
        with tempfile.TemporaryDirectory() as tmp:
            params, trainer = Path(tmp, "model.params"), Path(tmp, "trainer.states")
            self.model.save_parameters(str(params))
            self.trainer.save_states(str(trainer))
            return {"params": params.read_bytes(), "trainer": trainer.read_bytes()}

    def load_state_bytes(self, state: Dict[str, bytes]) -> None:
        """Restore the model and optimizer from state_bytes() output."""
        self.running_var.settle()  # what is loaded is running_var itself
        with tempfile.TemporaryDirectory() as tmp:
            params, trainer = Path(tmp, "model.params"), Path(tmp, "trainer.states")
            params.write_bytes(state["params"])
            trainer.write_bytes(state["trainer"])
            self.model.load_parameters(str(params), ctx=self.ctx)
            self.trainer.load_states(str(trainer))

    def device_report(self) -> dict:
        """Return what the run trained on: device, GPU name, driver, peak GPU memory, cuDNN settings."""
        return gpu.guarded_report(self.framework, str(self.ctx), self._device_report)

    def _device_report(self) -> dict:
        report = gpu.cpu_report(self.framework)
        features = {name: bool(feature.enabled) for name, feature in mx.runtime.Features().items()}
        if self.ctx.device_type == "gpu":
            mx.nd.waitall()
            report.update(gpu.gpu_facts(self.ctx.device_id), device=str(self.ctx))
            # MXNet 1.9 keeps no peak counter; NVML's per-process figure at the end is reported
            # instead (gpu_memory_process_used_mb_at_end), which holds MXNet's pool, never freed.
            report["unavailable"]["gpu_peak_memory_mb"] = (
                "MXNet 1.9 has no peak GPU memory counter; see gpu_memory_process_used_mb_at_end "
                "(NVML: this process's GPU memory at the end of the run, CUDA context and MXNet's pool included)")
            report["cudnn_runtime_version"], why = gpu.loaded_cudnn_version()
            if why:
                report["unavailable"]["cudnn_runtime_version"] = why
        else:
            report["unavailable"]["cudnn_runtime_version"] = "CPU run (read from the loaded libcudnn on GPU runs)"
        settings, flags = gpu.mxnet_settings()
        flags["features"] = {name: features.get(name) for name in ("CUDA", "CUDNN", "TENSORRT", "MKLDNN")}
        report["cuda_build_version"], why = gpu.mxnet_cuda_build_version(features)
        if why:
            report["unavailable"]["cuda_build_version"] = why
        report["unavailable"]["cudnn_build_version"] = (
            "MXNet was built without cuDNN" if not features.get("CUDNN") else
            "MXNet 1.9 does not expose the cuDNN version it was built with")
        report.update(cudnn_settings=settings, cudnn_policy=dict(gpu.CUDNN_POLICY), framework_flags=flags)
        return report

    @staticmethod
    def gpu_usable() -> bool:
        """Return whether this framework can train on a GPU here."""
        return mx.context.num_gpus() > 0

    @staticmethod
    def versions() -> dict:
        """Return the framework's version strings for provenance."""
        return {"mxnet": mx.__version__}
