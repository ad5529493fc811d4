"""The workflow config's schema: where it lives, and the defaults it gives a section.

The schema is the one place a config default is written; code that builds a section without
Snakemake's validation (the tests, the benchmarks) takes the defaults from here. Board side:
Python 3.8+ (PyYAML only).
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


@functools.lru_cache(maxsize=None)
def _schema() -> dict:
    """Return the schema, read once per process."""
    return yaml.safe_load(SCHEMA_PATH.read_text())


def _properties() -> dict:
    """Return the schema's top-level properties (a copy: callers may change the defaults they get)."""
    return copy.deepcopy(_schema()["properties"])


def top_level_default(key: str):
    """Return the default of a top-level scalar key (cpu_mode, host_checks, board, ...)."""
    return _properties()[key]["default"]


def section_defaults(section: str) -> dict:
    """Return {key: default} of a top-level config section, as validation would fill them in."""
    return _defaults(_properties()[section])


def entry_defaults(section: str) -> dict:
    """Return {key: default} of each entry of a mapping section (one hwconfigs.<name>, say)."""
    return _defaults(_properties()[section]["additionalProperties"])


def _defaults(schema: dict) -> dict:
    """Return the defaults of an object schema's properties, nested objects filled in as well.

    Snakemake's validation descends into an object it has just defaulted ({}) and fills in its
    own properties' defaults: monitor.rails comes out as {enabled: auto, rate_hz: 10, ...}.
    """
    filled = {}
    for key, spec in schema.get("properties", {}).items():
        if "default" not in spec:
            continue
        value = spec["default"]
        if isinstance(value, dict) and "properties" in spec:
            value = {**_defaults(spec), **value}
        filled[key] = value
    return filled


def merged(base: dict, over: dict) -> dict:
    """Return `over` merged into `base`, nested mappings key by key (Snakemake's update_config rule)."""
    result = dict(base)
    for key, value in over.items():
        result[key] = merged(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return result


def with_defaults(section: str, values: dict) -> dict:
    """Return a section's values over its schema defaults, nested objects merged key by key.

    For a section built without the workflow's validation (a test's or a benchmark's spec, an
    older spec.json): code reads every key and never writes a default of its own.
    """
    return merged(section_defaults(section), dict(values or {}))


def fill_defaults(config: dict) -> dict:
    """Return a whole config over the schema's top-level defaults, each section's filled in too.

    What validation does to the defaults, for a board-side Python that has no Snakemake (and
    so no validator): `edgebench meter-check` on a board.
    """
    return merged(_defaults({"properties": _properties()}), config)
