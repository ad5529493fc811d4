"""Typed views of the config sections a run reads: training, monitor, measurement.

Each is built from a section's values over the schema's defaults (edgebench.schema), so a
default is written in schemas/config.schema.yaml only: code reads `spec.training.batch_size`,
never `training.get("batch_size", 4)`. A key the schema does not know is refused, naming it.
tests/test_settings.py checks that every field here is a property of its schema section and
the other way round. Board side: Python 3.8+.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Type, TypeVar

from edgebench.schema import with_defaults

Section = TypeVar("Section")


@dataclass(frozen=True)
class Training:
    """How every run is trained, identically in both frameworks (config `training`)."""

    epochs: int
    batch_size: int
    optimizer: str
    learning_rate: float
    momentum: float
    weight_decay: float
    seed: int  # repetition r uses seed + r
    augment: bool
    verification: bool  # float64, no dropout: both frameworks' weights stay equal (not a measurement)


@dataclass(frozen=True)
class Monitor:
    """What is sampled beside a run (config `monitor`)."""

    interval_s: float
    power_method: str  # total | thesis_sum
    idle_baseline_s: float
    rails: Mapping[str, Any]  # direct INA3221/INA238 sampling: enabled, rate_hz, sysfs_root
    external: Mapping[str, Any]  # a wall meter: type, command, preset, host, url, field, interval_s, timeout_s


@dataclass(frozen=True)
class Measurement:
    """How a run is measured and retried (config `measurement`)."""

    cooldown_s: float
    keep_checkpoints: bool
    max_attempts_without_progress: int
    retries: int
    max_interference_pct: float
    remeasure_contended: int


SECTIONS = {"training": Training, "monitor": Monitor, "measurement": Measurement}


def section(cls: Type[Section], values: Mapping[str, Any] | None) -> Section:
    """Return a section's typed view: its values over the schema's defaults, unknown keys refused."""
    name = next(key for key, known in SECTIONS.items() if known is cls)
    if isinstance(values, cls):
        return values
    filled = with_defaults(name, dict(values or {}))
    fields = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(filled) - fields)
    if unknown:
        raise ValueError(f"{name}: unknown key(s) {unknown} (known: {', '.join(sorted(fields))})")
    return cls(**filled)


def as_dict(settings) -> dict:
    """Return a section as the plain dict it came from (for spec.json and run.json)."""
    return {field.name: _plain(getattr(settings, field.name)) for field in dataclasses.fields(settings)}


def _plain(value):
    """Return nested mappings as dicts (JSON-ready)."""
    return {key: _plain(item) for key, item in value.items()} if isinstance(value, Mapping) else value
