"""The state directory of one run: its checkpoint, its attempts, and the files being built.

It is not a Snakemake output, so Snakemake never deletes it; the runner publishes its files
to the declared outputs only when the run is over. Board side: Python 3.8+.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import List, Optional, Tuple

import pandas as pd

from edgebench.atomic import write_csv_atomic, write_text_atomic
from edgebench.monitor import extra_logs
from edgebench.train.checkpoint import CHECKPOINT_NAME, load_checkpoint
from edgebench.train.spec import OUTPUT_FILES, RunSpec
from edgebench.train.thesis_log import epoch_lines, validation_line

log = logging.getLogger("edgebench.train")

# epoch_seconds = train_seconds + val_seconds: the training pass and the validation pass, timed apart.
# interference_pct: the accepted measurement's share of other work on the measured cores;
# remeasured: how many contended measurements of the epoch were discarded before it.
EPOCH_COLUMNS = ["epoch", "train_loss", "train_acc", "train_top5", "val_loss", "val_acc", "val_top5",
                 "epoch_seconds", "train_seconds", "val_seconds", "started_at", "ended_at",
                 "interference_pct", "remeasured"]


class RunState:
    """The state directory of one run: checkpoint, attempts, and the files being built."""

    def __init__(self, spec: RunSpec):
        self.spec = spec
        self.dir = spec.state_dir
        self.attempts_path = self.dir / "attempts.json"

    def path(self, key: str) -> Path:
        """Return where the state directory keeps the file of an output key."""
        return self.dir / OUTPUT_FILES[key]

    def load_attempts(self) -> List[dict]:
        """Return the earlier attempts at this run (oldest first)."""
        return json.loads(self.attempts_path.read_text()) if self.attempts_path.exists() else []

    def save_attempts(self, attempts: List[dict]) -> None:
        """Record the attempts atomically."""
        write_text_atomic(self.attempts_path, json.dumps(attempts, indent=2) + "\n")

    def resume_point(self) -> Tuple[List[dict], Optional[dict]]:
        """Return (epochs rows done, checkpoint) from a matching checkpoint, or ([], None)."""
        checkpoint = load_checkpoint(self.dir)
        if checkpoint is None:
            return [], None
        if checkpoint["fingerprint"] != self.spec.fingerprint():
            log.warning("checkpoint in %s belongs to another experiment (%s); starting over",
                        self.dir, checkpoint["fingerprint"])
            return [], None
        if checkpoint["backend_state"] is None and len(checkpoint["epochs"]) < self.spec.training.epochs:
            # Written after what was then the last epoch, without weights: nothing to continue from.
            log.warning("checkpoint in %s holds no weights to continue past epoch %d; starting over",
                        self.dir, len(checkpoint["epochs"]) - 1)
            return [], None
        return checkpoint["epochs"], checkpoint

    def forget_other_experiments(self) -> None:
        """Remove the files of an earlier, different experiment (a fresh start must not inherit them)."""
        for path in (*(self.dir / name for name in (*OUTPUT_FILES.values(), CHECKPOINT_NAME)),
                     *extra_logs(self.path("hw_log"))):
            path.unlink(missing_ok=True)

    def write_progress(self, rows: List[dict]) -> None:
        """Rewrite epochs.csv, train.log and validation.log from the checkpointed rows (each epoch exactly once)."""
        write_csv_atomic(pd.DataFrame(rows, columns=EPOCH_COLUMNS), self.path("epochs"))
        write_text_atomic(self.path("train_log"), "".join(line + "\n" for row in rows for line in epoch_lines(row)))
        write_text_atomic(self.path("val_log"), "".join(validation_line(row) + "\n" for row in rows))


def stalled_attempts(attempts: List[dict]) -> int:
    """Return how many of the latest attempts ended without finishing an epoch beyond their start."""
    count = 0
    for attempt in reversed(attempts):
        if attempt.get("epochs_after", attempt["resumed_at_epoch"]) > attempt["resumed_at_epoch"]:
            break
        count += 1
    return count


def downtime_s(attempts: List[dict]) -> float:
    """Return the seconds lost between attempts (from an attempt's last checkpoint to the next start)."""
    lost = 0.0
    for before, after in zip(attempts, attempts[1:]):
        end = before.get("last_checkpoint_at") or before["started_at"]
        lost += (pd.Timestamp(after["started_at"]) - pd.Timestamp(end)).total_seconds()
    return lost
