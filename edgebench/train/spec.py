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

from edgebench.atomic import write_text_atomic
from edgebench.hwconfig import HardwareConfig, load_profile, resolve
from edgebench.schema import section_defaults

# run.json comes last: it is published last and marks the run as complete.
OUTPUT_FILES = {"epochs": "epochs.csv", "train_log": "train.log", "val_log": "validation.log", "hw_log": "hw.log",
                "hw_csv": "hw.csv", "run_json": "run.json"}
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
    training: dict  # epochs, batch_size, learning_rate, momentum, weight_decay, seed, augment, verification
    outputs: dict  # OUTPUT_FILES keys -> declared output path
    state_dir: Path
    profile: dict  # the device profile
    # Defaults as the config schema gives them (a spec built without the workflow: tests, benchmarks).
    monitor: dict = field(default_factory=lambda: section_defaults("monitor"))
    measurement: dict = field(default_factory=lambda: section_defaults("measurement"))
    lock_dir: Optional[Path] = None  # where the host's measurement lock lives (shared by all runs)
    cpu_mode: str = "affinity"  # or "hotplug": other cores offline during training (root only)

    @property
    def seed(self) -> int:
        """Return this repetition's seed: the base seed plus the repetition index."""
        return int(self.training["seed"]) + self.rep

    def fingerprint(self) -> dict:
        """Return what identifies this experiment, to tell whether a checkpoint belongs to it."""
        # The power mode only where one is set, so that checkpoints from before it existed still match.
        mode = {} if self.hwconfig.power_mode is None else {"power_mode": self.hwconfig.power_mode}
        training = {k: self.training.get(k) for k in FINGERPRINT_TRAINING_KEYS}
        if self.training.get("verification"):  # likewise only where it is on (float64 weights: another experiment)
            training["verification"] = True
        return {"framework": self.framework, "model": self.model, "cores": list(self.hwconfig.cores),
                "gpu": self.hwconfig.gpu, **mode, "rep": self.rep, "input_size": self.input_size,
                "training": training}


def spec_document(*, framework, model, hwcfg, hwconfig, rep, prepared_dir, input_size, training, outputs,
                  state_dir, device_profile, monitor, measurement, lock_dir, cpu_mode, log) -> dict:
    """Return the JSON-ready spec of a run, as the workflow side knows it (core groups unresolved)."""
    return {"framework": framework, "model": model, "hwcfg": hwcfg, "hwconfig": dict(hwconfig), "rep": int(rep),
            "prepared_dir": str(prepared_dir), "input_size": int(input_size), "training": dict(training),
            "outputs": {key: str(outputs[key]) for key in OUTPUT_FILES}, "state_dir": str(state_dir),
            "device_profile": str(device_profile), "monitor": dict(monitor), "measurement": dict(measurement),
            "lock_dir": str(lock_dir), "cpu_mode": cpu_mode, "log": str(log) if log else None}


def write_spec(document: dict, path) -> Path:
    """Write a spec document as JSON and return its path."""
    write_text_atomic(Path(path), json.dumps(document, indent=2) + "\n")
    return Path(path)


def load_spec(document: dict) -> RunSpec:
    """Return the RunSpec of a spec document, core groups resolved on this host."""
    profile = load_profile(document["device_profile"])
    return RunSpec(
        framework=document["framework"],
        model=document["model"],
        hwconfig=resolve(document["hwcfg"], document["hwconfig"], profile),
        rep=int(document["rep"]),
        prepared_dir=Path(document["prepared_dir"]),
        input_size=int(document["input_size"]),
        training=dict(document["training"]),
        outputs=dict(document["outputs"]),
        state_dir=Path(document["state_dir"]),
        profile=profile,
        monitor=dict(document["monitor"]),
        measurement=dict(document["measurement"]),
        lock_dir=Path(document["lock_dir"]) if document.get("lock_dir") else None,
        cpu_mode=document.get("cpu_mode", "affinity"),
    )
