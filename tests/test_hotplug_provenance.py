"""Provenance against a fake root tree of a TX2 (device-tree model, nv_tegra_release, cpufreq
governors, online list) and the fake nvpmodel and jetson_clocks on PATH (an Orin Nano Super's:
tests/fakes); and against this machine itself."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from edgebench.hwconfig.provenance import collect_provenance, parse_cpu_list, parse_jetson_clocks
from edgebench.interpreters import board_environment
from fakes.sysfs import make_cpu_tree
from tests.conftest import board_python

FAKES = Path(__file__).parent / "fakes"


@pytest.fixture
def tx2_root(tmp_path):
    root = tmp_path / "root"
    (root / "proc" / "device-tree").mkdir(parents=True)
    (root / "proc" / "device-tree" / "model").write_bytes(b"quill\x00")
    (root / "etc").mkdir()
    (root / "etc" / "nv_tegra_release").write_text(
        "# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t186ref, EABI: aarch64, DATE: Sat Feb 19 17:07:00 UTC 2022\n"
        "# KERNEL_VARIANT: oot\n"
    )
    cpus = make_cpu_tree(root / "sys" / "devices" / "system" / "cpu", 6, offline={1, 2})
    (cpus / "online").write_text("0,3-5\n")
    for core, governor in [(0, "schedutil"), (3, "performance")]:
        (cpus / f"cpu{core}" / "cpufreq").mkdir()
        (cpus / f"cpu{core}" / "cpufreq" / "scaling_governor").write_text(governor + "\n")
    return root


def test_tx2_tree(tx2_root, monkeypatch):
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    prov = collect_provenance(root=tx2_root)
    assert prov["device_model"] == "quill"
    assert prov["l4t_release"] == "R32.7.1"
    assert prov["l4t_release_line"].startswith("# R32 (release)")
    assert prov["nvpmodel"]["name"] == "25W" and prov["nvpmodel"]["id"] == 1  # the fake's default mode
    clocks = prov["jetson_clocks"]
    assert clocks["locked"] is False and clocks["reason"] is None  # DVFS: cores and GPU free to clock down
    assert sorted(clocks["cpus"]) == [f"cpu{i}" for i in range(6)] and clocks["cpus"]["cpu0"]["MinFreq"] == 729600
    assert clocks["gpu"] == {"MinFreq": 306000000, "MaxFreq": 1020000000, "CurrentFreq": 306000000}
    assert clocks["output"].endswith("NV Power Mode: 25W")
    assert prov["cpu_governors"] == {"cpu0": "schedutil", "cpu3": "performance"}
    assert prov["online_cores"] == [0, 3, 4, 5]


def test_clocks_locked_by_jetson_clocks(tx2_root, monkeypatch):
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_JETSON_CLOCKS_LOCKED", "1")
    assert collect_provenance(root=tx2_root)["jetson_clocks"]["locked"] is True


def test_jetson_clocks_refusing_a_non_root_user_is_not_a_clock_state():
    # What the real one prints to a non-root user (exit 1): nothing about the clocks.
    assert parse_jetson_clocks("Error: Run this script(/usr/bin/jetson_clocks) as a root user\n")["locked"] is None


def test_this_host_and_its_checkout(tmp_path):
    prov = collect_provenance(root=tmp_path)  # an empty tree: nothing Jetson about it
    if shutil.which("jetson_clocks") is None:
        assert prov["jetson_clocks"] == {"locked": None, "output": None, "reason": "jetson_clocks is not on PATH "
                                         "(not a Jetson): clock locking unknown"}
    assert prov["device_model"] is None and prov["l4t_release"] is None and prov["online_cores"] is None
    assert prov["hostname"] and prov["python"]
    assert prov["torch"] is None and prov["mxnet"] is None  # the workflow side's environment has neither
    checkout = Path(__file__).parents[1]
    expected = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert prov["git_commit"] == (expected.stdout.strip() or None)


@pytest.mark.parametrize("framework", ["pytorch", "mxnet"])
def test_versions_come_from_the_interpreter_that_trains(framework):
    code = "import json; from edgebench.hwconfig.provenance import collect_provenance; print(json.dumps(collect_provenance()))"
    out = subprocess.run([board_python(framework), "-c", code], check=True, capture_output=True, text=True,
                         env=board_environment()).stdout
    prov = json.loads(out.strip().splitlines()[-1])
    if framework == "pytorch":
        assert prov["torch"].split(".")[0].isdigit() and prov["mxnet"] is None
    else:
        assert prov["mxnet"] == "1.9.1" and prov["torch"] is None


def test_not_a_git_checkout(tmp_path):
    assert collect_provenance(root=tmp_path, checkout=tmp_path)["git_commit"] is None


def test_cpu_list():
    assert parse_cpu_list("0-3,5\n") == [0, 1, 2, 3, 5]
    assert parse_cpu_list("0") == [0]
    assert parse_cpu_list("") is None
