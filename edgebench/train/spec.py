"""What one training run is: the spec the workflow hands to the board-side runner.

The workflow side writes the spec as JSON (workflow_scripts/train.py); the runner reads it
in the framework's own interpreter (`python -m edgebench.train.main SPEC.json`). Core groups
are resolved here, on the board that runs, never on the submit host. Board side: Python 3.8+.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from edgebench import paths
from edgebench.atomic import write_text_atomic
from edgebench.hwconfig import HardwareConfig, load_board, resolve
from edgebench.schema import top_level_default
from edgebench.settings import Measurement, Monitor, Training, as_dict, section

OUTPUT_FILES = paths.RUN_FILES  # run.json comes last: it is published last and marks the run as complete
# Changing any of these makes an existing checkpoint belong to a different experiment. The
# epoch count is not among them: raising it continues a run from where it stopped.
FINGERPRINT_TRAINING_KEYS = ("batch_size", "optimizer", "learning_rate", "momentum", "weight_decay", "seed", "augment")


class RunRefused(Exception):
    """This board or interpreter cannot run the experiment (a core, the GPU, the framework is missing)."""


@dataclass
class RunSpec:
    """Everything one training run needs."""

    framework: str
    model: str
    hwconfig: HardwareConfig
    rep: int
    prepared_dir: Path
    input_size: int
    training: Training
    outputs: dict  # OUTPUT_FILES keys -> declared output path
    state_dir: Path
    board: dict  # the board description (edgebench.hwconfig.boards)
    # The schema's defaults where a spec is built without the workflow (tests, benchmarks).
    monitor: Monitor = field(default_factory=lambda: section(Monitor, {}))
    measurement: Measurement = field(default_factory=lambda: section(Measurement, {}))
    lock_dir: Optional[Path] = None  # where the host's measurement lock lives (shared by all runs)
    cpu_mode: str = field(default_factory=lambda: top_level_default("cpu_mode"))  # affinity | hotplug (root only)

    def __post_init__(self):
        # A spec built in code (a test, a benchmark) may give plain dicts: typed over the schema's defaults.
        self.training = section(Training, self.training)
        self.monitor = section(Monitor, self.monitor)
        self.measurement = section(Measurement, self.measurement)

    @property
    def seed(self) -> int:
        """Return this repetition's seed: the base seed plus the repetition index."""
        return self.training.seed + self.rep

    def fingerprint(self) -> dict:
        """Return what identifies this experiment, to tell whether a checkpoint belongs to it."""
        # The power mode only where one is set, so that checkpoints from before it existed still match.
        mode = {} if self.hwconfig.power_mode is None else {"power_mode": self.hwconfig.power_mode}
        training = {k: getattr(self.training, k) for k in FINGERPRINT_TRAINING_KEYS}
        if self.training.verification:  # likewise only where it is on (float64 weights: another experiment)
            training["verification"] = True
        return {"framework": self.framework, "model": self.model, "cores": list(self.hwconfig.cores),
                "gpu": self.hwconfig.gpu, **mode, "rep": self.rep, "input_size": self.input_size,
                "training": training}


def spec_document(*, framework, model, hwcfg, hwconfig, rep, prepared_dir, input_size, training, outputs,
                  state_dir, board, monitor, measurement, lock_dir, cpu_mode, log) -> dict:
    """Return the JSON-ready spec of a run, as the workflow side knows it (core groups unresolved).

    The sections are checked and completed with the schema's defaults here, so the runner reads
    exactly what the workflow validated.
    """
    return {"framework": framework, "model": model, "hwcfg": hwcfg, "hwconfig": dict(hwconfig), "rep": int(rep),
            "prepared_dir": str(prepared_dir), "input_size": int(input_size),
            "training": as_dict(section(Training, training)),
            "outputs": {key: str(outputs[key]) for key in OUTPUT_FILES}, "state_dir": str(state_dir),
            "board": str(board), "monitor": as_dict(section(Monitor, monitor)),
            "measurement": as_dict(section(Measurement, measurement)),
            "lock_dir": str(lock_dir), "cpu_mode": cpu_mode, "log": str(log) if log else None}


def write_spec(document: dict, path) -> Path:
    """Write a spec document as JSON and return its path."""
    write_text_atomic(Path(path), json.dumps(document, indent=2) + "\n")
    return Path(path)


def load_spec(document: dict) -> RunSpec:
    """Return the RunSpec of a spec document, core groups resolved on this host."""
    board = load_board(document["board"])
    return RunSpec(
        framework=document["framework"],
        model=document["model"],
        hwconfig=resolve(document["hwcfg"], document["hwconfig"], board),
        rep=int(document["rep"]),
        prepared_dir=Path(document["prepared_dir"]),
        input_size=int(document["input_size"]),
        training=section(Training, document["training"]),
        outputs=dict(document["outputs"]),
        state_dir=Path(document["state_dir"]),
        board=board,
        monitor=section(Monitor, document["monitor"]),
        measurement=section(Measurement, document["measurement"]),
        lock_dir=Path(document["lock_dir"]) if document.get("lock_dir") else None,
        cpu_mode=document["cpu_mode"],
    )
