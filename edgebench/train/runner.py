"""One training run: pin to the hardware configuration, monitor, train epoch by epoch, publish.

The runner is framework-neutral: it feeds identical numpy batches (same order, same seed) to
the backend of either framework and scores both with the same numpy code.

Survival: every finished epoch is checkpointed in the run's state directory (not a Snakemake
output, so Snakemake never deletes it), and a rerun of the same job continues after the last
checkpoint. The declared outputs appear only when the run is over, so a half-finished run
never looks finished. A run that fails (exception, NaN loss, out of memory) is a result: its
outputs are published with status "failed" and the reason, and the workflow goes on.
"""

import contextlib
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

from edgebench.atomic import write_csv_atomic, write_text_atomic
from edgebench.data.loader import CachedSplit, batches_per_epoch, iterate_batches
from edgebench.hwconfig import apply as hwapply
from edgebench.hwconfig.resolve import HardwareConfig, HardwareConfigError, check_host
from edgebench.monitor import open_monitor, read_monitor_log
from edgebench.monitor.host import utc_now
from edgebench.train import energy as run_energy
from edgebench.train.checkpoint import CHECKPOINT_NAME, epoch_seed, load_checkpoint, save_checkpoint
from edgebench.train.locks import exclusive
from edgebench.train.metrics import EpochMeter
from edgebench.train.thesis_log import epoch_lines

log = logging.getLogger("edgebench.train")

EPOCH_COLUMNS = ["epoch", "train_loss", "train_acc", "train_top5", "val_loss", "val_acc", "val_top5",
                 "epoch_seconds", "started_at", "ended_at"]
BACKENDS = {"pytorch": "edgebench.train.torch_backend", "mxnet": "edgebench.train.mxnet_backend"}
OUTPUT_FILES = {"epochs": "epochs.csv", "train_log": "train.log", "hw_log": "hw.log", "hw_csv": "hw.csv",
                "run_json": "run.json"}
# Changing any of these makes an existing checkpoint belong to a different experiment. The
# epoch count is not among them: raising it continues a run from where it stopped.
FINGERPRINT_TRAINING_KEYS = ("batch_size", "optimizer", "learning_rate", "momentum", "weight_decay", "seed", "augment")


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
    outputs: dict  # OUTPUT_FILES keys -> declared output path
    state_dir: Path
    profile: dict  # the device profile
    monitor: dict = field(default_factory=lambda: {"interval_s": 1.0, "power_method": "total", "idle_baseline_s": 0})
    measurement: dict = field(default_factory=lambda: {"cooldown_s": 0, "keep_checkpoints": False,
                                                       "max_attempts_without_progress": 3})
    lock_dir: Path | None = None  # where the host's measurement lock lives (shared by all runs)
    cpu_mode: str = "affinity"  # or "hotplug": other cores offline during training (root only)

    @property
    def seed(self) -> int:
        """Return this repetition's seed: the base seed plus the repetition index."""
        return int(self.training["seed"]) + self.rep

    def fingerprint(self) -> dict:
        """Return what identifies this experiment, to tell whether a checkpoint belongs to it."""
        return {"framework": self.framework, "model": self.model, "cores": list(self.hwconfig.cores),
                "gpu": self.hwconfig.gpu, "rep": self.rep, "input_size": self.input_size,
                "training": {k: self.training.get(k) for k in FINGERPRINT_TRAINING_KEYS}}


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
            raise TrainingDiverged(f"loss is {loss} at epoch {epoch}, batch {i}")
        meter.add(loss, logits, y)
        if i % every == 0 or i == total:
            log.info("epoch %d %s batch %d/%d loss %.4f", epoch, "train" if train else "val", i, total,
                     meter.loss_sum / meter.samples)
    return meter.summary()


class RunState:
    """The state directory of one run: checkpoint, attempts, and the files being built."""

    def __init__(self, spec: RunSpec):
        self.spec = spec
        self.dir = spec.state_dir
        self.attempts_path = self.dir / "attempts.json"

    def path(self, key: str) -> Path:
        """Return where the state directory keeps the file of an output key."""
        return self.dir / OUTPUT_FILES[key]

    def load_attempts(self) -> list[dict]:
        """Return the earlier attempts at this run (oldest first)."""
        return json.loads(self.attempts_path.read_text()) if self.attempts_path.exists() else []

    def save_attempts(self, attempts: list[dict]) -> None:
        """Record the attempts atomically."""
        write_text_atomic(self.attempts_path, json.dumps(attempts, indent=2) + "\n")

    def resume_point(self) -> tuple[list[dict], dict | None]:
        """Return (epochs rows done, backend state) from a matching checkpoint, or ([], None)."""
        checkpoint = load_checkpoint(self.dir)
        if checkpoint is None:
            return [], None
        if checkpoint["fingerprint"] != self.spec.fingerprint():
            log.warning("checkpoint in %s belongs to another experiment (%s); starting over",
                        self.dir, checkpoint["fingerprint"])
            return [], None
        if checkpoint["backend_state"] is None and len(checkpoint["epochs"]) < int(self.spec.training["epochs"]):
            # Written after what was then the last epoch, without weights: nothing to continue from.
            log.warning("checkpoint in %s holds no weights to continue past epoch %d; starting over",
                        self.dir, len(checkpoint["epochs"]) - 1)
            return [], None
        return checkpoint["epochs"], checkpoint

    def write_progress(self, rows: list[dict]) -> None:
        """Rewrite epochs.csv and train.log from the checkpointed rows (each epoch exactly once)."""
        write_csv_atomic(pd.DataFrame(rows, columns=EPOCH_COLUMNS), self.path("epochs"))
        write_text_atomic(self.path("train_log"), "".join(line + "\n" for row in rows for line in epoch_lines(row)))


def stalled_attempts(attempts: list[dict]) -> int:
    """Return how many of the latest attempts ended without finishing an epoch beyond their start."""
    count = 0
    for attempt in reversed(attempts):
        if attempt.get("epochs_after", attempt["resumed_at_epoch"]) > attempt["resumed_at_epoch"]:
            break
        count += 1
    return count


def train(spec: RunSpec, state: RunState, backend, rows: list[dict], attempt: dict, attempts: list[dict]) -> list[dict]:
    """Return all epochs' rows after training from len(rows) to the configured epoch count."""
    hp = spec.training
    train_split = CachedSplit(spec.prepared_dir, "train")
    val_split = CachedSplit(spec.prepared_dir, "val")
    for epoch in range(len(rows), int(hp["epochs"])):
        backend.seed(epoch_seed(spec.seed, epoch))
        started, t0 = utc_now(), time.perf_counter()
        train_loss, train_acc, train_top5 = run_epoch(
            backend, train_split, hp["batch_size"], seed=spec.seed, epoch=epoch, train=True,
            augment=hp.get("augment", False))
        val_loss, val_acc, val_top5 = run_epoch(
            backend, val_split, hp["batch_size"], seed=spec.seed, epoch=epoch, train=False)
        rows = rows + [dict(epoch=epoch, train_loss=train_loss, train_acc=train_acc, train_top5=train_top5,
                            val_loss=val_loss, val_acc=val_acc, val_top5=val_top5,
                            epoch_seconds=time.perf_counter() - t0, started_at=started, ended_at=utc_now())]
        # After the last epoch only publishing is left, which needs the rows, not the weights:
        # leaving them out saves writing VGG-16's ~1 GB state once more. A kept checkpoint
        # stays whole, so that raising the epoch count later can continue it.
        with_weights = epoch < int(hp["epochs"]) - 1 or spec.measurement.get("keep_checkpoints")
        digest = backend.weights_digest() if with_weights else None
        save_checkpoint(state.dir, {"fingerprint": spec.fingerprint(), "epochs": rows,
                                    "backend_state": backend.state_bytes() if with_weights else None,
                                    "weights_sha256": digest})
        state.write_progress(rows)
        attempt.update(epochs_after=len(rows), last_checkpoint_at=rows[-1]["ended_at"])
        state.save_attempts(attempts)
        for line in epoch_lines(rows[-1]):
            log.info(line)
        if with_weights:
            log.info("checkpoint after epoch %d: weights sha256 %s", epoch, digest)
        else:
            log.info("epoch %d recorded (the last one: no weights checkpointed)", epoch)
    return rows


def provenance(spec: RunSpec, backend_cls) -> dict:
    """Return where and with what the run executed."""
    from edgebench.hwconfig.provenance import collect_provenance

    return {
        **collect_provenance(checkout=Path(__file__).resolve().parents[2]),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "framework_versions": backend_cls.versions(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "threads_env": {k: os.environ.get(k) for k in hwapply.thread_environment(spec.hwconfig)},
    }


def publish(spec: RunSpec, state: RunState) -> None:
    """Copy the finished run's files to the declared outputs, run.json last; drop checkpoints."""
    for key in OUTPUT_FILES:  # run.json is last in OUTPUT_FILES: it marks the run as complete
        target = Path(spec.outputs[key])
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(state.path(key), tmp)
        os.replace(tmp, target)
    if not spec.measurement.get("keep_checkpoints"):
        shutil.rmtree(state.dir)


def downtime_s(attempts: list[dict]) -> float:
    """Return the seconds lost between attempts (from an attempt's last checkpoint to the next start)."""
    lost = 0.0
    for before, after in zip(attempts, attempts[1:]):
        end = before.get("last_checkpoint_at") or before["started_at"]
        lost += (pd.Timestamp(after["started_at"]) - pd.Timestamp(end)).total_seconds()
    return lost


def finish(spec: RunSpec, state: RunState, rows, attempts, summary, *, status, reason, idle_power_w) -> dict:
    """Write hw.csv, epochs.csv, train.log and run.json to the state directory, publish, return run.json."""
    hw, skipped = read_monitor_log(spec.profile, state.path("hw_log"), spec.monitor["power_method"])
    write_csv_atomic(hw, state.path("hw_csv"))
    state.write_progress(rows)
    epochs = pd.DataFrame(rows, columns=EPOCH_COLUMNS)
    total_time_s = float(epochs["epoch_seconds"].sum())
    summary.update({
        "status": status,
        "reason": reason,
        "epochs_done": len(rows),
        "started_at": rows[0]["started_at"] if rows else None,
        "ended_at": rows[-1]["ended_at"] if rows else None,
        # Training time is the sum of epoch times: set-up, restarts and downtime are not counted.
        "total_time_s": total_time_s,
        "attempts": attempts,
        "restarts": len(attempts) - 1,
        "downtime_s": downtime_s(attempts),
        "monitor": {"kind": spec.profile.get("monitor", "host"), "samples": len(hw), "skipped_lines": skipped,
                    "interval_s": spec.monitor["interval_s"], "power_total": hw.attrs.get("power_total")},
        "energy": run_energy.summarise(hw, epochs, total_time_s, idle_power_w=idle_power_w),
    })
    write_text_atomic(state.path("run_json"), json.dumps(summary, indent=2, default=str) + "\n")
    publish(spec, state)
    return summary


def run(spec: RunSpec) -> dict:
    """Run (or resume) one training experiment to its end and return its run.json summary."""
    check_host(spec.hwconfig)
    state = RunState(spec)
    state.dir.mkdir(parents=True, exist_ok=True)
    # A second process on the same run fails at once; measured runs on one host queue up. The
    # measurement lock is per host: on a cluster's shared filesystem, boards must not wait for
    # each other.
    measure_lock = (spec.lock_dir or state.dir) / f".measure-{socket.gethostname()}.lock"
    with exclusive(state.dir / ".lock", wait=False, what=f"run {state.dir}"), \
            exclusive(measure_lock, wait=True, what="the measurement lock"):
        return _run_locked(spec, state)


def _run_locked(spec: RunSpec, state: RunState) -> dict:
    rows, checkpoint = state.resume_point()
    if checkpoint is None:
        # A fresh start must not inherit the files of an earlier, different experiment.
        for name in (*OUTPUT_FILES.values(), CHECKPOINT_NAME):
            (state.dir / name).unlink(missing_ok=True)
    attempts = state.load_attempts() if checkpoint is not None else []
    attempt = {"started_at": utc_now(), "resumed_at_epoch": len(rows), "pid": os.getpid()}
    attempts.append(attempt)
    state.save_attempts(attempts)
    summary = {
        "framework": spec.framework, "model": spec.model, "hwconfig": asdict(spec.hwconfig),
        "rep": spec.rep, "seed": spec.seed, "device_profile": spec.profile["name"],
        "input_size": spec.input_size, "training": spec.training, "measurement": spec.measurement,
    }
    limit = int(spec.measurement.get("max_attempts_without_progress", 3))
    if stalled_attempts(attempts[:-1]) >= limit:
        # The last attempts died (killed, out of memory) without finishing an epoch: record that
        # rather than crash-looping for days.
        reason = f"killed {limit} times in a row without finishing epoch {len(rows)}"
        return finish(spec, state, rows, attempts, summary, status="failed", reason=reason, idle_power_w=None)
    if rows:
        log.info("resuming at epoch %d from the checkpoint in %s", len(rows), state.dir)
    time.sleep(float(spec.measurement.get("cooldown_s", 0)))
    status, reason, idle_power_w = "done", None, None
    # The monitor starts before pinning so it is not confined to the measured cores.
    with open_monitor(spec.profile, state.path("hw_log"), spec.monitor["interval_s"]), hotplug_context(spec):
        idle_power_w = measure_idle(spec, state)
        hwapply.enter(spec.hwconfig)
        backend_cls = load_backend(spec.framework)
        if spec.hwconfig.gpu and not backend_cls.gpu_usable():
            raise HardwareConfigError(f"hwconfigs.{spec.hwconfig.name}.gpu: {spec.framework} cannot use a GPU here")
        num_classes = CachedSplit(spec.prepared_dir, "train").num_classes
        backend = backend_cls(spec.model, num_classes, spec.input_size, spec.training, spec.seed,
                              spec.hwconfig.gpu, spec.hwconfig.threads)
        summary.update(num_classes=num_classes, provenance=provenance(spec, backend_cls))
        if checkpoint is not None and checkpoint["backend_state"] is not None:
            backend.load_state_bytes(checkpoint["backend_state"])
            digest = backend.weights_digest()
            if digest != checkpoint["weights_sha256"]:
                raise RuntimeError(f"checkpoint in {state.dir} did not load faithfully (weights digest differs)")
            log.info("resumed from checkpoint after epoch %d: weights sha256 %s", len(rows) - 1, digest)
        try:
            rows = train(spec, state, backend, rows, attempt, attempts)
        except (TrainingDiverged, MemoryError, RuntimeError, ValueError, FloatingPointError) as error:
            # RuntimeError covers the frameworks' own errors (torch's out-of-memory, MXNet's MXNetError).
            rows = (load_checkpoint(state.dir) or {"epochs": []})["epochs"]
            status, reason = "failed", f"{type(error).__name__} in epoch {len(rows)}: {error}"
            log.exception("run failed: %s", reason)
    attempt["ended_at"] = utc_now()
    state.save_attempts(attempts)
    return finish(spec, state, rows, attempts, summary, status=status, reason=reason, idle_power_w=idle_power_w)


def hotplug_context(spec: RunSpec):
    """Return a context that takes the other cores offline (cpu_mode: hotplug), else does nothing."""
    if spec.cpu_mode != "hotplug":
        return contextlib.nullcontext()
    from edgebench.hwconfig.hotplug import HotplugCores

    return HotplugCores(keep_online=spec.hwconfig.cores)


def measure_idle(spec: RunSpec, state: RunState) -> float | None:
    """Return the idle power (W) over monitor.idle_baseline_s seconds before training, if configured."""
    seconds = float(spec.monitor.get("idle_baseline_s", 0))
    if seconds <= 0:
        return None
    start = utc_now()
    time.sleep(seconds)
    hw, _ = read_monitor_log(spec.profile, state.path("hw_log"), spec.monitor["power_method"])
    from edgebench.monitor.energy import mean_power_w

    return mean_power_w(hw, start, utc_now()) if "power_total_mw" in hw.columns else None
