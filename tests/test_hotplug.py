"""CPU hotplug against a fake /sys/devices/system/cpu tree (a real one needs root and would
take this machine's cores away): offline/online writes, restore on exit and on failure."""

import errno
import os

import pytest

from edgebench.hwconfig.hotplug import HotplugCores, HotplugError
from fakes.sysfs import core_states, make_cpu_tree


@pytest.fixture
def tx2_cpus(tmp_path):
    # TX2 layout: cpu0..cpu5, cpu0 without an online file; core 4 offline beforehand.
    return make_cpu_tree(tmp_path / "cpu", 6, offline={4})


def test_keeps_only_the_denver_cores_and_restores(tx2_cpus):
    before = core_states(tx2_cpus)
    with pytest.raises(ValueError, match="cpu0 cannot be taken offline"):
        HotplugCores({1, 2}, tx2_cpus).__enter__()
    assert core_states(tx2_cpus) == before  # refused before anything was written
    with HotplugCores({0, 1, 2}, tx2_cpus) as hotplug:
        assert core_states(tx2_cpus) == {1: "1", 2: "1", 3: "0", 4: "0", 5: "0"}
        assert hotplug.changed == {3: "1", 5: "1"}  # core 4 was already offline
    assert core_states(tx2_cpus) == before


def test_brings_an_offline_core_online_when_kept(tx2_cpus):
    with HotplugCores({0, 3, 4, 5}, tx2_cpus):
        assert core_states(tx2_cpus) == {1: "0", 2: "0", 3: "1", 4: "1", 5: "1"}
    assert core_states(tx2_cpus)[4] == "0"


def test_restores_when_the_training_raises(tx2_cpus):
    before = core_states(tx2_cpus)
    with pytest.raises(RuntimeError, match="out of memory"):
        with HotplugCores({0}, tx2_cpus):
            assert set(core_states(tx2_cpus).values()) == {"0"}
            raise RuntimeError("out of memory")
    assert core_states(tx2_cpus) == before


def refusing(core: str, state: str, error: OSError):
    """Return HotplugCores on a kernel that refuses to set `core`/online to `state`."""

    class Refusing(HotplugCores):
        def write_state(self, path, value):
            if path.parent.name == core and value == state:
                raise error
            super().write_state(path, value)

    return Refusing


# The kernel refuses to take cpu5 down, as it does with EBUSY for a core it needs.
BusyCore5 = refusing("cpu5", "0", OSError(errno.EBUSY, "Device or resource busy"))


def test_a_failed_write_midway_undoes_the_earlier_ones(tx2_cpus):
    before = core_states(tx2_cpus)
    with pytest.raises(HotplugError, match="cpu5/online failed.*busy"):
        with BusyCore5({0}, tx2_cpus):
            pytest.fail("the body must not run when the cores could not be set")
    assert core_states(tx2_cpus) == before


def test_an_unreadable_online_file_is_named(tx2_cpus):
    (tx2_cpus / "cpu5" / "online").unlink()
    (tx2_cpus / "cpu5" / "online").mkdir()
    with pytest.raises(HotplugError, match="cannot read .*cpu5/online"):
        HotplugCores({0}, tx2_cpus).__enter__()


def test_unknown_core_and_empty_set_are_refused(tx2_cpus):
    with pytest.raises(ValueError, match=r"cores \[7\] do not exist.*\[0, 1, 2, 3, 4, 5\]"):
        HotplugCores({0, 7}, tx2_cpus).__enter__()
    with pytest.raises(ValueError, match="at least one core"):
        HotplugCores(set(), tx2_cpus).__enter__()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write files whatever their mode")
def test_not_writable_needs_root(tx2_cpus):
    (tx2_cpus / "cpu3" / "online").chmod(0o444)
    with pytest.raises(PermissionError, match="needs root"):
        HotplugCores({0}, tx2_cpus).__enter__()


# cpu3 goes down but the kernel will not bring it back up.
StuckOffline3 = refusing("cpu3", "1", OSError(errno.EIO, "Input/output error"))


def test_a_failed_restore_is_reported_not_hidden(tx2_cpus):
    with pytest.raises(HotplugError, match="not restored.*cpu3/online"):
        with StuckOffline3({0}, tx2_cpus):
            pass
    assert core_states(tx2_cpus)[5] == "1"  # the others were still put back
    (tx2_cpus / "cpu3" / "online").write_text("1\n")  # an operator brings it back by hand
    # With the training's own exception in flight, that one propagates and the failure is warned.
    with pytest.warns(RuntimeWarning, match="not restored"):
        with pytest.raises(KeyError):
            with StuckOffline3({0}, tx2_cpus):
                raise KeyError("boom")
