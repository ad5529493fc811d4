"""One training run: pin to the hardware configuration, monitor, train epoch by epoch, publish.

The runner is framework-neutral: it feeds identical numpy batches (same order, same seed) to
the backend of either framework (edgebench/train/backend.py) and scores both with the same
numpy code. It runs on the board, in the framework's own interpreter (edgebench/train/main.py).

Survival: every finished epoch is checkpointed in the run's state directory (state.py), and a
rerun of the same job continues after the last checkpoint. The declared outputs appear only
when the run is over (summary.py), so a half-finished run never looks finished. A run that
fails (exception, NaN loss, out of memory) or cannot happen here (a missing core, no GPU, a
framework that does not import) is a result: published with status "failed" or "refused" and
the reason, and the workflow goes on. Board side: Python 3.8+.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import socket
import sys
import time
from typing import List, Optional

from edgebench.data.loader import (CachedSplit, batches_per_epoch, drop_last_training_batch, iterate_batches,
                                   samples_per_pass)
from edgebench.hwconfig import apply as hwapply
from edgebench.hwconfig.resolve import HardwareConfigError, check_host
from edgebench.monitor import check_monitor, open_monitor, read_monitor_log, trailing_wait_s
from edgebench.timestamps import utc_now
from edgebench.train.backend import Backend, load_backend
from edgebench.train.checkpoint import epoch_seed, load_checkpoint, save_checkpoint
from edgebench.train.disk import check_room
from edgebench.train.interference import InterferenceMeter, combined, judge
from edgebench.train.locks import exclusive
from edgebench.train.metrics import EpochMeter
from edgebench.train.spec import RunRefused, RunSpec
from edgebench.train.state import RunState, stalled_attempts
from edgebench.train.summary import finish, provenance, record_refusal, run_header
from edgebench.train.thesis_log import epoch_lines, validation_line

log = logging.getLogger("edgebench.train")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def run_epoch(backend: Backend, split, batch_size, *, seed, epoch, train, augment=False):
    """Return (loss, top1, top5) of one pass over a split, training or evaluating."""
    meter = EpochMeter()
    drop_last = train and drop_last_training_batch(len(split), batch_size)
    total = batches_per_epoch(split, batch_size, drop_last)
    step = backend.train_step if train else backend.eval_step
    # Progress about ten times per pass, so multi-hour epochs show they are alive.
    every = max(1, total // 10)
    batches = iterate_batches(split, batch_size, seed=seed, epoch=epoch, shuffle=train, augment=augment and train,
                              drop_last=drop_last)
    for i, (x, y) in enumerate(batches, 1):
        loss, logits = step(x, y)
        if train and not math.isfinite(loss):
            raise TrainingDiverged(f"loss is {loss} at epoch {epoch}, batch {i}")
        meter.add(loss, logits, y)
        if i % every == 0 or i == total:
            log.info("epoch %d %s batch %d/%d loss %.4f", epoch, "train" if train else "val", i, total,
                     meter.loss_sum / meter.samples)
    return meter.summary()


def measure_epoch(spec: RunSpec, backend: Backend, splits, epoch: int, meter: InterferenceMeter):
    """Return (the epoch's row, its interference window) after training and validating it once."""
    hp = spec.training
    train_split, val_split = splits
    backend.seed(epoch_seed(spec.seed, epoch))
    meter.start()
    started, t0 = utc_now(), time.perf_counter()
    train_loss, train_acc, train_top5 = run_epoch(
        backend, train_split, hp.batch_size, seed=spec.seed, epoch=epoch, train=True,
        augment=hp.augment)
    t_trained = time.perf_counter()
    val_loss, val_acc, val_top5 = run_epoch(backend, val_split, hp.batch_size, seed=spec.seed, epoch=epoch,
                                            train=False)
    t_validated = time.perf_counter()
    window = meter.stop()
    row = dict(epoch=epoch, train_loss=train_loss, train_acc=train_acc, train_top5=train_top5,
               val_loss=val_loss, val_acc=val_acc, val_top5=val_top5,
               epoch_seconds=t_validated - t0, train_seconds=t_trained - t0,
               val_seconds=t_validated - t_trained, started_at=started, ended_at=utc_now())
    return row, window


def roll_back(state: RunState, backend: Backend) -> None:
    """Restore the weights and optimizer state the last checkpoint holds: the state before this epoch."""
    checkpoint = load_checkpoint(state.dir)
    backend.load_state_bytes(checkpoint["backend_state"])
    if backend.weights_digest() != checkpoint["weights_sha256"]:
        raise RuntimeError(f"checkpoint in {state.dir} did not load faithfully (weights digest differs)")


def train(spec: RunSpec, state: RunState, backend: Backend, rows: List[dict], attempt: dict,
          attempts: List[dict], meter: InterferenceMeter) -> List[dict]:
    """Return all epochs' rows after training from len(rows) to the configured epoch count.

    An epoch whose measured cores were busy with other work beyond the threshold is measured
    again, up to measurement.remeasure_contended times, from the checkpoint before it: the seeds
    are per epoch, so the repeat trains exactly the same steps, and only its time is new.
    """
    hp = spec.training
    splits = CachedSplit(spec.prepared_dir, "train"), CachedSplit(spec.prepared_dir, "val")
    threshold = spec.measurement.max_interference_pct
    remeasures = spec.measurement.remeasure_contended
    if remeasures and not rows:
        # The state before epoch 0, for measuring it again; later epochs go back to their predecessor's checkpoint.
        save_checkpoint(state.dir, {"fingerprint": spec.fingerprint(), "epochs": [],
                                    "backend_state": backend.state_bytes(), "weights_sha256": backend.weights_digest()})
    for epoch in range(len(rows), hp.epochs):
        for measured in range(remeasures + 1):
            row, window = measure_epoch(spec, backend, splits, epoch, meter)
            verdict = judge(window.busy_s, window.own_s, 1, threshold)
            if not verdict["contended"] or measured == remeasures:
                break
            log.warning("epoch %d: %.1f%% of the measured cores' busy time was other work; measuring it again "
                        "(%d of %d)", epoch, verdict["interference_pct"], measured + 1, remeasures)
            roll_back(state, backend)
        meter.add(window)
        attempt["remeasured_epochs"] = attempt.get("remeasured_epochs", 0) + (measured > 0)
        rows = rows + [{**row, "interference_pct": verdict["interference_pct"], "remeasured": measured}]
        # After the last epoch only publishing is left, which needs the rows, not the weights:
        # leaving them out saves writing VGG-16's ~1 GB state once more. A kept checkpoint
        # stays whole, so that raising the epoch count later can continue it.
        with_weights = epoch < hp.epochs - 1 or spec.measurement.keep_checkpoints
        digest = backend.weights_digest() if with_weights else None
        save_checkpoint(state.dir, {"fingerprint": spec.fingerprint(), "epochs": rows,
                                    "backend_state": backend.state_bytes() if with_weights else None,
                                    "weights_sha256": digest})
        state.write_progress(rows)
        attempt.update(epochs_after=len(rows), last_checkpoint_at=rows[-1]["ended_at"])
        state.save_attempts(attempts)
        for line in (*epoch_lines(rows[-1]), validation_line(rows[-1])):
            log.info(line)
        if with_weights:
            log.info("checkpoint after epoch %d: weights sha256 %s", epoch, digest)
        else:
            log.info("epoch %d recorded (the last one: no weights checkpointed)", epoch)
    return rows


def run(spec: RunSpec) -> dict:
    """Run (or resume) one training experiment to its end and return its run.json summary."""
    # Whatever this run's configuration, cores a killed hotplug run left offline and a power mode a
    # killed run left set come back first.
    from edgebench.hwconfig import power_mode
    from edgebench.hwconfig.recovery import recover_killed_runs

    records = spec.lock_dir or spec.state_dir  # where this host's durable records of changes live
    for line in recover_killed_runs(records):
        log.warning(line)
    try:
        check_host(spec.hwconfig)
        check_monitor(spec.board, spec.monitor)  # a wall meter that does not answer, rails required and absent
    except HardwareConfigError as error:
        # Under a cluster executor this board is the first to know it cannot run the config.
        log.error("run refused: %s", error)
        return record_refusal(spec, str(error))
    state = RunState(spec)
    state.dir.mkdir(parents=True, exist_ok=True)
    # A second process on the same run fails at once; measured runs on one host queue up. The
    # measurement lock is per host: on a cluster's shared filesystem, boards must not wait for
    # each other.
    measure_lock = (spec.lock_dir or state.dir) / f".measure-{socket.gethostname()}.lock"
    with exclusive(state.dir / ".lock", wait=False, what=f"run {state.dir}"), \
            exclusive(measure_lock, wait=True, what="the measurement lock"):
        try:
            # Set before the cool-down, the idle baseline and training; put back after, whatever happens.
            with power_mode.power_mode_context(spec.hwconfig, records):
                return _run_locked(spec, state)
        except power_mode.PowerModeRefused as refusal:  # on entry only: the mode could not be set (nothing ran)
            log.error("run refused: %s", refusal)
            return record_refusal(spec, str(refusal))


def framework_backend(spec: RunSpec):
    """Return the framework's Backend class, or raise RunRefused if it cannot train this config here."""
    try:
        backend_cls = load_backend(spec.framework)
    except (ImportError, OSError) as error:  # OSError: a shared library the framework links is missing
        raise RunRefused(f"{spec.framework} does not import in {sys.executable}: "
                         f"{type(error).__name__}: {error}") from error
    if spec.hwconfig.gpu and not backend_cls.gpu_usable():
        raise RunRefused(f"hwconfigs.{spec.hwconfig.name}.gpu: {spec.framework} has no CUDA here "
                         f"({sys.executable}: {backend_cls.versions()})")
    return backend_cls


def _run_locked(spec: RunSpec, state: RunState) -> dict:
    rows, checkpoint = state.resume_point()
    if checkpoint is None:
        state.forget_other_experiments()
    attempts = state.load_attempts() if checkpoint is not None else []
    attempt = {"started_at": utc_now(), "resumed_at_epoch": len(rows), "pid": os.getpid()}
    attempts.append(attempt)
    state.save_attempts(attempts)
    summary = run_header(spec)
    limit = spec.measurement.max_attempts_without_progress
    if stalled_attempts(attempts[:-1]) >= limit:
        # The last attempts died (killed, out of memory) without finishing an epoch: record that
        # rather than crash-looping for days.
        reason = f"killed {limit} times in a row without finishing epoch {len(rows)}"
        return finish(spec, state, rows, attempts, summary, status="failed", reason=reason, idle_power_w=None)
    if rows:
        log.info("resuming at epoch %d from the checkpoint in %s", len(rows), state.dir)
    time.sleep(spec.measurement.cooldown_s)
    status, reason, idle_power_w = "done", None, None
    # The monitor starts before pinning so it is not confined to the measured cores.
    with open_monitor(spec.board, state.path("hw_log"), spec.monitor), hotplug_context(spec):
        idle_power_w = measure_idle(spec, state)
        hwapply.enter(spec.hwconfig)  # before the framework's import: its thread pools read the variables
        try:
            backend_cls = framework_backend(spec)
            rows, status, reason = _train_with(spec, state, backend_cls, summary, rows, checkpoint, attempt, attempts)
        except RunRefused as refusal:  # raised before any training: no framework, no CUDA, no room on disk
            if rows:
                raise  # epochs trained elsewhere stay checkpointed for a board that can continue
            log.error("run refused: %s", refusal)
            status, reason = "refused", str(refusal)
        time.sleep(trailing_wait_s(spec.board, spec.monitor))  # the trace covers the last epoch
    attempt["ended_at"] = utc_now()
    state.save_attempts(attempts)
    return finish(spec, state, rows, attempts, summary, status=status, reason=reason, idle_power_w=idle_power_w)


def _train_with(spec: RunSpec, state: RunState, backend_cls, summary: dict, rows: List[dict],
                checkpoint: Optional[dict], attempt: dict, attempts: List[dict]):
    """Return (rows, status, reason) after building the backend, restoring the checkpoint and training."""
    train_split, val_split = CachedSplit(spec.prepared_dir, "train"), CachedSplit(spec.prepared_dir, "val")
    num_classes = train_split.num_classes
    batch = spec.training.batch_size
    summary["samples_per_epoch"] = {"train": samples_per_pass(len(train_split), batch, train=True),
                                    "train_available": len(train_split),
                                    "val": samples_per_pass(len(val_split), batch, train=False)}
    backend = backend_cls(spec.model, num_classes, spec.input_size, spec.training, spec.seed,
                          spec.hwconfig.gpu, spec.hwconfig.threads)
    summary.update(num_classes=num_classes, provenance=provenance(spec, backend_cls))
    for warning in summary["provenance"]["clocks"]["warnings"]:
        log.warning(warning)
    epochs_left = spec.training.epochs - len(rows)
    with_weights = epochs_left if spec.measurement.keep_checkpoints else epochs_left - 1
    if spec.measurement.remeasure_contended and not rows:
        with_weights += 1  # the state before epoch 0, kept for measuring it again (train())
    check_room(state.dir, backend.weights_bytes(), with_weights)  # RunRefused: before any training
    if checkpoint is not None and checkpoint["backend_state"] is not None:
        backend.load_state_bytes(checkpoint["backend_state"])
        digest = backend.weights_digest()
        if digest != checkpoint["weights_sha256"]:
            raise RuntimeError(f"checkpoint in {state.dir} did not load faithfully (weights digest differs)")
        log.info("resumed from checkpoint after epoch %d: weights sha256 %s", len(rows) - 1, digest)
    status, reason = "done", None
    meter = InterferenceMeter(spec.hwconfig.cores)
    try:
        rows = train(spec, state, backend, rows, attempt, attempts, meter)
    except (TrainingDiverged, MemoryError, RuntimeError, ValueError, FloatingPointError, OSError) as error:
        # RuntimeError covers the frameworks' own errors (torch's out-of-memory, MXNet's MXNetError).
        if isinstance(error, OSError) and error.errno != errno.ENOSPC:
            raise  # an I/O hiccup is retried by Snakemake; a full disk is a result
        rows = (load_checkpoint(state.dir) or {"epochs": []})["epochs"]
        status, reason = "failed", f"{type(error).__name__} in epoch {len(rows)}: {error}"
        log.exception("run failed: %s", reason)
    summary["provenance"]["device"] = backend.device_report()
    # Over this attempt's epochs (a resumed run's earlier epochs were judged by their attempt).
    threshold = spec.measurement.max_interference_pct
    attempt["interference"] = {**meter.summary(threshold), "remeasured_epochs": attempt.get("remeasured_epochs", 0)}
    summary["interference"] = combined((a.get("interference") for a in attempts), threshold)
    return rows, status, reason


def hotplug_context(spec: RunSpec):
    """Return a context that takes the other cores offline (cpu_mode: hotplug), else does nothing."""
    if spec.cpu_mode != "hotplug":
        return contextlib.nullcontext()
    from edgebench.hwconfig.hotplug import HotplugCores, record_path

    return HotplugCores(keep_online=spec.hwconfig.cores, record=record_path(spec.lock_dir or spec.state_dir))


def measure_idle(spec: RunSpec, state: RunState) -> Optional[float]:
    """Return the idle power (W) over monitor.idle_baseline_s seconds before training, if configured."""
    seconds = spec.monitor.idle_baseline_s
    if seconds <= 0:
        return None
    start = utc_now()
    time.sleep(seconds)
    hw, _ = read_monitor_log(spec.board, state.path("hw_log"), spec.monitor.power_method)
    from edgebench.monitor.energy import mean_power_w

    return mean_power_w(hw, start, utc_now()) if "power_total_mw" in hw.columns else None
