"""The workflow config's schema: where it lives, and the defaults it gives a section.

The schema is the one place a config default is written; code that builds a section without
Snakemake's validation (the tests, the benchmarks) takes the defaults from here. Board side:
Python 3.8+ (PyYAML only).
"""

from __future__ import annotations

from pathlib import Path

import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


def section_defaults(section: str) -> dict:
    """Return {key: default} of a top-level config section, as validation would fill them in."""
    return _defaults(yaml.safe_load(SCHEMA_PATH.read_text())["properties"][section])


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


def with_defaults(section: str, values: dict) -> dict:
    """Return a section's values over its schema defaults, nested objects merged key by key.

    For a section built without the workflow's validation (a test's or a benchmark's spec, an
    older spec.json): code reads every key and never writes a default of its own.
    """
    def merge(base: dict, over: dict) -> dict:
        merged = dict(base)
        for key, value in over.items():
            merged[key] = merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
        return merged

    return merge(section_defaults(section), dict(values or {}))
