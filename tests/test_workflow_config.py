"""Config validation: the JSON schema (through Snakemake's validator) and the cross-checks beyond it."""

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import update_config, validate

from edgebench import workflow_config
from edgebench.hwconfig import HardwareConfigError

REPO = Path(__file__).resolve().parents[1]
SCHEMA = str(REPO / "schemas" / "config.schema.yaml")


def thesis_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def demo_config() -> dict:
    config = thesis_config()
    update_config(config, yaml.safe_load((REPO / "config" / "demo.yaml").read_text()))
    return config


def test_thesis_matrix_validates_and_defaults_fill_in():
    config = thesis_config()
    del config["training"]["momentum"], config["training"]["verification"], config["monitor"]
    validate(config, SCHEMA)
    assert config["training"]["momentum"] == 0.9
    assert config["monitor"] == {"interval_s": 1.0, "power_method": "total", "idle_baseline_s": 0,
                                 "rails": {"enabled": "auto", "rate_hz": 10, "sysfs_root": "/"},
                                 "external": {"type": None, "command": None, "preset": None, "host": None, "url": None,
                                              "field": None, "interval_s": 1.0, "timeout_s": 2.0}}
    assert config["training"]["epochs"] == 10 and config["training"]["batch_size"] == 4
    assert config["training"]["verification"] is False  # normal (float32, dropout) training unless asked for
    assert set(config["hwconfigs"]) == {f"{kind}_cfg{i}" for kind in ("cpu", "gpu") for i in (1, 2, 3)}


@pytest.mark.parametrize("key, value", [
    ("models", ["lenet", "resnet50"]),
    ("frameworks", ["tensorflow"]),
    ("training", {"epochs": 0}),
    ("training", {"verification": "yes"}),
    ("repetitions", 0),
])
def test_schema_refuses_bad_values(key, value):
    config = thesis_config()
    config[key] = value
    with pytest.raises(WorkflowError):
        validate(config, SCHEMA)


def test_demo_overlay_maps_configs_onto_two_cores():
    config = demo_config()
    validate(config, SCHEMA)
    workflow_config.check(config)  # the demo must run on this (2-core) machine
    assert [workflow_config.hardware_config(config, f"cpu_cfg{i}").cores for i in (1, 2, 3)] == [(0,), (1,), (0, 1)]
    assert workflow_config.input_size(config, "lenet") == 32 and workflow_config.input_size(config, "inception_v3") == 75


def test_thesis_configs_refused_on_a_host_without_a_tx2_core_layout():
    config = thesis_config()
    validate(config, SCHEMA)
    workflow_config.check(config, host=False)  # well-formed
    tx2 = workflow_config.hardware_config(config, "cpu_cfg3")
    assert tx2.cores == (0, 1, 2, 3, 4, 5) and tx2.threads == 6


def test_unknown_run_config_and_slurm_placement_are_refused():
    config = demo_config()
    validate(config, SCHEMA)
    bad = copy.deepcopy(config)
    bad["run_hwconfigs"] = ["cpu_cfg9"]
    with pytest.raises(workflow_config.ConfigError, match="hwconfig 'cpu_cfg9': not defined"):
        workflow_config.check(bad)
    bad = copy.deepcopy(config)
    bad["slurm"] = {"hwconfigs": {"cpu_cgf1": {"partition": "tx2"}}}
    with pytest.raises(workflow_config.ConfigError, match=r"slurm.hwconfigs: \['cpu_cgf1'\]"):
        workflow_config.check(bad)


def test_gpu_run_config_refused_here_without_gpu():
    from edgebench.hwconfig.resolve import host_has_gpu

    config = demo_config()
    config["hwconfigs"]["gpu_cfg1"] = {"cores": ["core0"], "gpu": True}
    config["run_hwconfigs"] = ["gpu_cfg1"]
    validate(config, SCHEMA)
    if host_has_gpu():
        pytest.skip("this host has a GPU")
    with pytest.raises(HardwareConfigError, match="gpu_cfg1.gpu"):
        workflow_config.check(config)


def test_status_and_the_snakefile_load_the_same_config(tmp_path):
    overlay = tmp_path / "mine.yaml"
    overlay.write_text(yaml.safe_dump({"training": {"epochs": 3}, "monitor": {"rails": {"rate_hz": 50}}}))
    config = workflow_config.load([overlay.name], tmp_path)
    expected = thesis_config()
    update_config(expected, {"training": {"epochs": 3}, "monitor": {"rails": {"rate_hz": 50}}})
    validate(expected, SCHEMA)
    assert config == expected
    assert config["monitor"]["rails"] == {"enabled": "auto", "rate_hz": 50, "sysfs_root": "/"}  # merged key by key


def test_old_names_of_the_board_still_work(tmp_path):
    overlay = tmp_path / "old.yaml"
    overlay.write_text("device_profile: resources/profiles/demo.yaml\n")
    with pytest.warns(FutureWarning, match="'device_profile' is now called 'board'"):
        config = workflow_config.load([overlay.name], tmp_path)
    assert config["board"] == "resources/profiles/demo.yaml" and "device_profile" not in config
    assert workflow_config.hardware_config({**config, "hwconfigs": {"c": {"cores": ["core0"]}}}, "c").cores == (0,)


def test_without_snakemake_the_schemas_defaults_still_fill_in():
    from edgebench.schema import fill_defaults

    config = fill_defaults({"monitor": {"interval_s": 0.5}, "models": ["lenet"]})
    assert config["board"] == "host" and config["monitor"]["interval_s"] == 0.5
    assert config["monitor"]["external"]["timeout_s"] == 2.0 and config["training"]["batch_size"] == 4
