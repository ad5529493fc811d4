"""Each fact in one place: the typed config sections and the model registry against the schema."""

import dataclasses

import pytest
import yaml

from edgebench import models
from edgebench.schema import SCHEMA_PATH, section_defaults
from edgebench.settings import SECTIONS, Measurement, Monitor, Training, as_dict, section

SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())["properties"]


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_typed_sections_have_exactly_the_schemas_keys(name):
    fields = {field.name for field in dataclasses.fields(SECTIONS[name])}
    assert fields == set(SCHEMA[name]["properties"])


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_an_empty_section_takes_every_default_from_the_schema(name):
    assert as_dict(section(SECTIONS[name], {})) == section_defaults(name)


def test_given_values_win_and_nested_ones_merge_key_by_key():
    monitor = section(Monitor, {"interval_s": 0.25, "rails": {"rate_hz": 50}})
    assert monitor.interval_s == 0.25 and monitor.power_method == section_defaults("monitor")["power_method"]
    assert monitor.rails == {**section_defaults("monitor")["rails"], "rate_hz": 50}
    training = section(Training, {"batch_size": 16})
    assert (training.batch_size, training.epochs) == (16, section_defaults("training")["epochs"])
    assert section(Training, training) is training


def test_an_unknown_key_is_refused_by_name():
    with pytest.raises(ValueError, match=r"measurement: unknown key\(s\) \['cooldown'\]"):
        section(Measurement, {"cooldown": 3})


def test_the_schemas_model_list_is_the_model_registry():
    assert SCHEMA["models"]["items"]["enum"] == list(models.MODEL_NAMES)
