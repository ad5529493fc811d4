"""One training run: pin to the hardware configuration, monitor, train epoch by epoch, publish.

The runner is framework-neutral: it feeds identical numpy batches (same order, same seed) to
the backend of either framework and scores both with the same numpy code. Files are written to
a per-run state directory and moved to the declared outputs only when the run completes, so a
half-finished run never looks finished to Snakemake.
"""

import importlib
import json
import logging
import math
import os
import platform
import shutil
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from edgebench.data.loader import CachedSplit, batches_per_epoch, iterate_batches
from edgebench.hwconfig import apply as hwapply
from edgebench.hwconfig.resolve import HardwareConfig, HardwareConfigError, check_host
from edgebench.monitor.host import HostSampler, parse_host_log, utc_now
from edgebench.train.metrics import EpochMeter
from edgebench.train.thesis_log import epoch_lines

log = logging.getLogger("edgebench.train")

EPOCH_COLUMNS = ["epoch", "train_loss", "train_acc", "train_top5", "val_loss", "val_acc", "val_top5",
                 "epoch_seconds", "started_at", "ended_at"]
BACKENDS = {"pytorch": "edgebench.train.torch_backend", "mxnet": "edgebench.train.mxnet_backend"}
OUTPUT_NAMES = ("epochs", "train_log", "hw_log", "hw_csv", "run_json")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass
class RunSpec:
    """Everything one training run needs; built by workflow_scripts/train.py from the rule."""

    framework: str
    model: str
    hwconfig: HardwareConfig
    rep: int
    prepared_dir: Path
    input_size: int
    training: dict  # epochs, batch_size, learning_rate, momentum, weight_decay, seed, augment
    outputs: dict  # OUTPUT_NAMES -> declared output path
    state_dir: Path
    device_profile: str
    monitor_interval_s: float = 1.0
    extra: dict = field(default_factory=dict)

    @property
    def seed(self) -> int:
        """Return this repetition's seed: the base seed plus the repetition index."""
        return int(self.training["seed"]) + self.rep


def load_backend(framework: str):
    """Return the Backend class of a framework (imports the framework)."""
    if framework not in BACKENDS:
        raise ValueError(f"framework {framework!r}: unknown; known: {', '.join(BACKENDS)}")
    return importlib.import_module(BACKENDS[framework]).Backend


def run_epoch(backend, split, batch_size, *, seed, epoch, train, augment=False):
    """Return (loss, top1, top5) of one pass over a split, training or evaluating."""
    meter = EpochMeter()
    total = batches_per_epoch(split, batch_size)
    step = backend.train_step if train else backend.eval_step
    # Progress about ten times per pass, so multi-hour epochs show they are alive.
    every = max(1, total // 10)
    batches = iterate_batches(split, batch_size, seed=seed, epoch=epoch, shuffle=train, augment=augment and train)
    for i, (x, y) in enumerate(batches, 1):
        loss, logits = step(x, y)
        if train and not math.isfinite(loss):
            raise TrainingDiverged(f"epoch {epoch} batch {i}: loss is {loss}")
        meter.add(loss, logits, y)
        if i % every == 0 or i == total:
            log.info("epoch %d %s batch %d/%d loss %.4f", epoch, "train" if train else "val", i, total,
                     meter.loss_sum / meter.samples)
    return meter.summary()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def train(spec: RunSpec, backend) -> pd.DataFrame:
    """Return epochs.csv rows after training backend for spec's epochs, logging thesis lines."""
    hp = spec.training
    train_split = CachedSplit(spec.prepared_dir, "train")
    val_split = CachedSplit(spec.prepared_dir, "val")
    thesis_log = spec.state_dir / "train.log"
    rows = []
    for epoch in range(int(hp["epochs"])):
        started, t0 = utc_now(), time.perf_counter()
        train_loss, train_acc, train_top5 = run_epoch(
            backend, train_split, hp["batch_size"], seed=spec.seed, epoch=epoch, train=True,
            augment=hp.get("augment", False))
        val_loss, val_acc, val_top5 = run_epoch(
            backend, val_split, hp["batch_size"], seed=spec.seed, epoch=epoch, train=False)
        row = dict(epoch=epoch, train_loss=train_loss, train_acc=train_acc, train_top5=train_top5,
                   val_loss=val_loss, val_acc=val_acc, val_top5=val_top5,
                   epoch_seconds=time.perf_counter() - t0, started_at=started, ended_at=utc_now())
        rows.append(row)
        lines = epoch_lines(row)
        with open(thesis_log, "a") as fh:
            fh.write("\n".join(lines) + "\n")
        for line in lines:
            log.info(line)
    return pd.DataFrame(rows, columns=EPOCH_COLUMNS)


def provenance(spec: RunSpec, backend_cls) -> dict:
    """Return where and with what the run executed."""
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": backend_cls.versions(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "threads_env": {k: os.environ.get(k) for k in hwapply.thread_environment(spec.hwconfig)},
    }


def publish(spec: RunSpec) -> None:
    """Move the finished run's files from the state directory to the declared outputs."""
    for name in OUTPUT_NAMES:
        source = spec.state_dir / Path(spec.outputs[name]).name
        target = Path(spec.outputs[name])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target.with_name(target.name + ".tmp"))
        os.replace(target.with_name(target.name + ".tmp"), target)
    shutil.rmtree(spec.state_dir)


def run(spec: RunSpec) -> dict:
    """Run one training experiment end to end and return its run.json summary."""
    check_host(spec.hwconfig)
    if spec.state_dir.exists():
        shutil.rmtree(spec.state_dir)  # no resume yet: an interrupted run starts over
    spec.state_dir.mkdir(parents=True)
    hw_log = spec.state_dir / "hw.log"
    summary = {
        "framework": spec.framework, "model": spec.model, "hwconfig": asdict(spec.hwconfig),
        "rep": spec.rep, "seed": spec.seed, "device_profile": spec.device_profile,
        "input_size": spec.input_size, "training": spec.training,
    }
    # The sampler starts before pinning so it is not confined to the measured cores.
    with HostSampler(hw_log, spec.monitor_interval_s):
        hwapply.enter(spec.hwconfig)
        backend_cls = load_backend(spec.framework)
        if spec.hwconfig.gpu and not backend_cls.gpu_usable():
            raise HardwareConfigError(f"hwconfigs.{spec.hwconfig.name}.gpu: {spec.framework} cannot use a GPU here")
        num_classes = CachedSplit(spec.prepared_dir, "train").num_classes
        backend = backend_cls(spec.model, num_classes, spec.input_size, spec.training, spec.seed,
                              spec.hwconfig.gpu, spec.hwconfig.threads)
        summary["provenance"] = provenance(spec, backend_cls)
        summary["num_classes"] = num_classes
        epochs = train(spec, backend)
    hw, skipped = parse_host_log(hw_log)
    hw.to_csv(spec.state_dir / "hw.csv", index=False)
    epochs.to_csv(spec.state_dir / "epochs.csv", index=False)
    summary.update({
        "status": "done",
        "reason": None,
        "epochs_done": len(epochs),
        "started_at": epochs["started_at"].iloc[0],
        "ended_at": epochs["ended_at"].iloc[-1],
        # Training time is the sum of epoch times: setup and monitor start-up are not counted.
        "total_time_s": float(epochs["epoch_seconds"].sum()),
        "monitor": {"kind": "host", "samples": len(hw), "skipped_lines": skipped},
        "energy": {"avg_power_w": None, "energy_wh": None, "energy_wh_integrated": None,
                   "reason": "no power sensor on this host (host sampler without RAPL/NVML)"},
    })
    _write_atomic(spec.state_dir / "run.json", json.dumps(summary, indent=2, default=str) + "\n")
    publish(spec)
    return summary
