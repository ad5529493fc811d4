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
    properties = yaml.safe_load(SCHEMA_PATH.read_text())["properties"][section]["properties"]
    return {key: spec["default"] for key, spec in properties.items() if "default" in spec}
