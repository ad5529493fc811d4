"""Power modes as an axis (hwconfigs.<cfg>.power_mode): the board is put in the mode for a run and
back in its previous mode after it, also after a failure and a real kill -9; where the mode cannot
be set, the run is a recorded refusal naming the key and the reason.

Against the fake nvpmodel (tests/fakes/nvpmodel: an Orin Nano 8GB Super's CLI and configuration,
the sources of its formats in its header), found on PATH and run as a real subprocess, keeping its
mode in a file; the parsers also against output recorded from real boards."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import pytest
import yaml

from edgebench.hwconfig import HardwareConfigError, check_host, load_board, power_mode, resolve
from edgebench.hwconfig.power_mode import PowerMode, PowerModeRefused, parse_modes, parse_query, recover_stale
from edgebench.interpreters import board_environment
from edgebench.train.spec import write_spec
from tests.conftest import REPO, TINY, board_python, prepare_tiny_demo, run_document

FAKES = Path(__file__).parent / "fakes"
MODES = "15W (0), 25W (1), MAXN_SUPER (2), 7W (3)"


def fake_board(directory: Path, env: dict) -> types.SimpleNamespace:
    """Return the fake Orin Nano in mode 1 (25W, its default): its nvpmodel first on env's PATH."""
    state, calls = directory / "nvpmodel.state", directory / "nvpmodel.calls"
    state.write_text("1\n")
    env.update(PATH=f"{FAKES}{os.pathsep}{env['PATH']}", FAKE_NVPMODEL_STATE=str(state), FAKE_NVPMODEL_LOG=str(calls))
    return types.SimpleNamespace(
        mode=lambda: int(state.read_text()),
        sets=lambda: [c for c in calls.read_text().splitlines() if c.startswith("-m")] if calls.exists() else [])


@pytest.fixture
def board(tmp_path, monkeypatch):
    env = dict(os.environ)
    found = fake_board(tmp_path, env)
    for key in ("PATH", "FAKE_NVPMODEL_STATE", "FAKE_NVPMODEL_LOG"):
        monkeypatch.setenv(key, env[key])
    return found


# Real output, as printed by boards (sources in tests/fakes/nvpmodel's header).
XAVIER_QUERY_VERBOSE = """NVPM VERB: Config file: /etc/nvpmodel.conf
NVPM VERB: parsing done for /etc/nvpmodel.conf
NV Fan Mode:quiet
NVPM VERB: Current mode: NV Power Mode: MODE_15W_6CORE
2
NVPM VERB: PARAM CPU_ONLINE: ARG CORE_0: PATH /sys/devices/system/cpu/cpu0/online: REAL_VAL: 1 CONF_VAL: 1
"""
NANO_QUERY_NOT_ROOT = """NV Power Mode: 5W
1
NVPM ERROR: Error opening /sys/kernel/nvpmodel_emc_cap/emc_iso_cap: 13
NVPM ERROR: failed to read PARAM EMC: ARG MAX_FREQ: PATH /sys/kernel/nvpmodel_emc_cap/emc_iso_cap
"""
XAVIER_NX_MODES = "".join(f"NVPM VERB: POWER_MODEL: ID={i} NAME={name}\n" for i, name in enumerate(
    ["MODE_15W_2CORE", "MODE_15W_4CORE", "MODE_15W_6CORE", "MODE_10W_2CORE", "MODE_10W_4CORE", "MODE_10W_DESKTOP",
     "MODE_20W_2CORE", "MODE_20W_4CORE", "MODE_20W_6CORE"]))


def test_parsers_read_real_boards_output():
    assert parse_query(XAVIER_QUERY_VERBOSE) == {"id": 2, "name": "MODE_15W_6CORE"}
    assert parse_query(NANO_QUERY_NOT_ROOT) == {"id": 1, "name": "5W"}  # errors after it, as a non-root user gets
    modes = parse_modes(XAVIER_NX_MODES)
    assert len(modes) == 9 and modes[5] == {"id": 5, "name": "MODE_10W_DESKTOP"}
    # The configuration file itself (`< POWER_MODEL ID=0 NAME=15W >`), where -p lists nothing.
    conf = parse_modes((FAKES / "nvpmodel_p3767_0003_super.conf").read_text())
    assert [(m["id"], m["name"]) for m in conf] == [(0, "15W"), (1, "25W"), (2, "MAXN_SUPER"), (3, "7W")]


@pytest.mark.parametrize("value, valid", [(0, True), ("MAXN_SUPER", True), (-1, False), ("", False), ([0], False)])
def test_the_schema_takes_an_id_or_a_name(value, valid):
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    config = {**TINY, "hwconfigs": {"cpu_cfg1": {"cores": ["core0"], "power_mode": value}}}
    if valid:
        validate(config, str(REPO / "schemas" / "config.schema.yaml"))
    else:
        with pytest.raises(WorkflowError):
            validate(config, str(REPO / "schemas" / "config.schema.yaml"))


def test_host_checks_refuse_a_mode_this_board_lacks_before_anything_runs(board):
    # The check Snakemake makes while it builds the DAG (host_checks: here), and `edgebench check`.
    cfg = resolve("cpu_cfg1", {"cores": ["core0"], "power_mode": "MAXN"}, load_board("demo"))
    with pytest.raises(HardwareConfigError, match=rf"^hwconfigs\.cpu_cfg1\.power_mode: 'MAXN' is not a power mode of "
                                                  rf"this board \(nvpmodel lists: {re.escape(MODES)}\)$"):
        check_host(cfg)
    check_host(resolve("cpu_cfg1", {"cores": ["core0"], "power_mode": 0}, load_board("demo")))
    assert board.sets() == []  # checking changes nothing


def test_the_mode_is_set_inside_and_restored_after_with_a_record_meanwhile(board, tmp_path):
    record = tmp_path / "state" / ".power-mode-board.json"
    with PowerMode("cfg", "maxn_super", record=record) as mode:  # a name, in any case
        assert board.mode() == 2
        assert json.loads(record.read_text())["restore"] == {"id": 1, "name": "25W"}
        assert power_mode.in_force() == {"requested": "maxn_super", "previous": {"id": 1, "name": "25W"},
                                         "set": {"id": 2, "name": "MAXN_SUPER"}}
        assert mode.previous == {"id": 1, "name": "25W"}
    assert board.mode() == 1 and not record.exists() and power_mode.in_force() is None
    assert board.sets() == ["-m 2", "-m 1"]


def test_the_mode_is_restored_when_the_run_raises(board, tmp_path):
    record = tmp_path / ".power-mode-board.json"
    with pytest.raises(RuntimeError, match="boom"):
        with PowerMode("cfg", 0, record=record):
            assert board.mode() == 0
            raise RuntimeError("boom")
    assert board.mode() == 1 and not record.exists()


def test_already_in_the_mode_asks_nvpmodel_for_nothing(board, tmp_path):
    # Some JetPacks ask for a reboot even to set the mode they are in: never ask needlessly.
    with PowerMode("cfg", "25W", record=tmp_path / "record.json"):
        assert board.mode() == 1
    assert board.sets() == []


def test_a_mode_that_needs_a_reboot_is_refused_with_nvpmodels_words_and_never_hangs(board, tmp_path):
    record = tmp_path / "record.json"
    with pytest.raises(PowerModeRefused) as refused:
        with PowerMode("cfg", "7W", record=record):
            pytest.fail("entered a mode that needs a reboot")
    message = str(refused.value)
    assert message.startswith("hwconfigs.cfg.power_mode: switching to 7W (3) needs a reboot, which a run cannot do")
    assert "Reboot required for changing to this power mode: 3" in message and "bad input!" in message
    assert board.mode() == 1 and not record.exists() and board.sets() == ["-m 3"]


def test_an_nvpmodel_that_hangs_is_stopped(board, monkeypatch):
    monkeypatch.setenv("FAKE_NVPMODEL_DELAY_S", "30")
    monkeypatch.setattr(power_mode, "TIMEOUT_S", 0.5)
    started = time.monotonic()
    with pytest.raises(PowerModeRefused, match=r"hwconfigs.cfg.power_mode: `.*nvpmodel -p --verbose` did not answer "
                                               r"within 0.5 s"):
        power_mode.check("cfg", 0)
    assert time.monotonic() - started < 10


CHILD = """
import sys, time
from edgebench.hwconfig.power_mode import PowerMode
with PowerMode("cpu_cfg1", "15W", record=sys.argv[1]):
    print("inside", flush=True)
    time.sleep(120)
"""


def kill_inside(record: Path) -> None:
    """Leave the board in 15W with a record, as a run killed by a real kill -9 (no exit code ran) does."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(record)], stdout=subprocess.PIPE, text=True,
                             env=board_environment())
    try:
        assert child.stdout.readline().strip() == "inside"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()


def test_a_live_runs_record_is_left_alone_a_dead_ones_is_acted_on(board, tmp_path):
    record = tmp_path / "record.json"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(record)], stdout=subprocess.PIPE, text=True,
                             env=board_environment())
    try:
        assert child.stdout.readline().strip() == "inside"
        assert recover_stale(record) == [] and board.mode() == 0
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    said = recover_stale(record)
    assert board.mode() == 1 and not record.exists()
    assert said == [f"power mode: a run (pid {child.pid}) died with the board in 15W (0); restored from {record}: "
                    "back in 25W (1)"]


def test_status_restores_a_killed_runs_mode_and_says_so(board, tmp_path, monkeypatch, capsys):
    workdir = tmp_path / "work"
    kill_inside(workdir / "results" / "state" / f".power-mode-{socket.gethostname()}.json")
    assert board.mode() == 0
    # host_checks: node, so that status does not probe the framework interpreters (seconds): not what is tested.
    (workdir / "config.yaml").write_text(yaml.safe_dump({**TINY, "host_checks": "node"}))
    monkeypatch.chdir(workdir)
    from edgebench import status

    assert status.cli(["--configfile", "config.yaml"]) == 0
    assert "died with the board in 15W (0); restored from" in capsys.readouterr().err
    assert board.mode() == 1


# Real runs through the board's entry point: `<framework's python> -m edgebench.train.main spec.json`.

@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepare_tiny_demo(tmp_path_factory.mktemp("power-mode-data"), seed=8)


def write_run(prepared, work: Path, power, **training) -> Path:
    document = run_document("pytorch", "lenet", prepared, work)
    document["hwconfig"]["power_mode"] = power
    document["training"].update(training)
    return write_spec(document, work.parent / f"{work.name}.spec.json")


def train(spec: Path, env=None, **popen):
    return subprocess.run([board_python("pytorch"), "-m", "edgebench.train.main", str(spec)], capture_output=True,
                          text=True, env=board_environment(env), timeout=300, **popen)


def test_a_run_is_trained_in_its_mode_and_the_board_put_back(board, prepared, tmp_path):
    work = tmp_path / "run"
    result = train(write_run(prepared, work, "15W"))
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((work / "run.json").read_text())
    assert summary["status"] == "done" and summary["hwconfig"]["power_mode"] == "15W"
    # Provenance is read during training: the board was in 15W then, and came from 25W.
    assert summary["provenance"]["nvpmodel"]["name"] == "15W" and summary["provenance"]["nvpmodel"]["id"] == 0
    assert summary["provenance"]["power_mode"] == {"requested": "15W", "previous": {"id": 1, "name": "25W"},
                                                   "set": {"id": 0, "name": "15W"}}
    assert board.mode() == 1 and board.sets() == ["-m 0", "-m 1"]
    assert not (work / f".power-mode-{socket.gethostname()}.json").exists()


def test_a_failed_run_puts_the_board_back_too(board, prepared, tmp_path):
    work = tmp_path / "run"
    result = train(write_run(prepared, work, 2, learning_rate=1.0e6))  # LeNet's loss diverges in epoch 0
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((work / "run.json").read_text())
    assert summary["status"] == "failed" and summary["reason"].startswith("TrainingDiverged in epoch 0")
    assert summary["provenance"]["nvpmodel"]["name"] == "MAXN_SUPER"
    assert board.mode() == 1 and board.sets() == ["-m 2", "-m 1"]


def test_after_a_kill_9_edgebench_check_puts_the_mode_back(board, prepared, tmp_path):
    workdir = tmp_path / "work"
    state = workdir / "results" / "state"  # the run's lock_dir: where the host's records live
    record = state / f".power-mode-{socket.gethostname()}.json"
    spec = write_run(prepared, state, "15W", epochs=1)
    document = json.loads(spec.read_text())
    document["measurement"]["cooldown_s"] = 120  # the run idles in 15W until it is killed
    spec.write_text(json.dumps(document))
    run = subprocess.Popen([board_python("pytorch"), "-m", "edgebench.train.main", str(spec)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=board_environment())
    try:
        deadline = time.monotonic() + 120
        while not (record.exists() and board.mode() == 0):
            assert run.poll() is None and time.monotonic() < deadline, "the run never set the power mode"
            time.sleep(0.05)
        run.send_signal(signal.SIGKILL)
    finally:
        run.kill()
        run.wait()
    assert board.mode() == 0 and json.loads(record.read_text())["restore"] == {"id": 1, "name": "25W"}
    # No interpreters to probe (seconds of framework imports): what is tested comes before that.
    missing = {fw: "/nonexistent/python" for fw in TINY["interpreters"]}
    (workdir / "config.yaml").write_text(yaml.safe_dump({**TINY, "interpreters": missing}))
    result = subprocess.run([sys.executable, "-m", "edgebench", "check", "--configfile", "config.yaml"], cwd=workdir,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert f"power mode: a run (pid {run.pid}) died with the board in 15W (0); restored from " \
           f"{record.relative_to(workdir)}: back in 25W (1)" in result.stderr, result.stderr
    assert board.mode() == 1 and not record.exists()


def read_refusal(work: Path, result) -> str:
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((work / "run.json").read_text())
    assert summary["status"] == "refused" and summary["epochs_done"] == 0
    return summary["reason"]


def test_the_next_run_puts_a_killed_runs_mode_back_first(board, prepared, tmp_path):
    kill_inside(tmp_path / "run" / f".power-mode-{socket.gethostname()}.json")
    assert board.mode() == 0
    work = tmp_path / "run"
    result = train(write_run(prepared, work, "MAXN"))  # restored first; then refused: this board has no MAXN
    assert "died with the board in 15W (0); restored from" in result.stderr and board.mode() == 1
    assert read_refusal(work, result) == (f"hwconfigs.cpu_cfg1.power_mode: 'MAXN' is not a power mode of this board "
                                          f"(nvpmodel lists: {MODES})")


def test_a_mode_that_needs_a_reboot_is_a_recorded_refusal(board, prepared, tmp_path):
    work = tmp_path / "run"
    reason = read_refusal(work, train(write_run(prepared, work, 3)))
    assert reason.startswith("hwconfigs.cpu_cfg1.power_mode: switching to 7W (3) needs a reboot") and "YES/yes" in reason
    assert board.mode() == 1 and board.sets() == ["-m 3"]


def test_a_board_without_nvpmodel_is_a_recorded_refusal(prepared, tmp_path):
    path = "/usr/bin:/bin"
    if shutil.which("nvpmodel", path=path):
        pytest.skip("this machine has a real nvpmodel")
    work = tmp_path / "run"
    reason = read_refusal(work, train(write_run(prepared, work, "15W"), {**os.environ, "PATH": path}))
    assert reason == ("hwconfigs.cpu_cfg1.power_mode: '15W', but nvpmodel is not on PATH here (not a Jetson, or "
                      "L4T's nvpmodel is not installed), so the power mode cannot be set")


def test_a_user_without_the_right_is_a_recorded_refusal(prepared):
    # As root, the run drops to nobody (setpriv); as another user, it is that user, unless sudo lets it.
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("root, and no setpriv to run as another user")
        drop, uid = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], 65534
    else:
        if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
            pytest.skip("this user may use sudo without a password: it has the right")
        drop, uid = [], os.geteuid()
    base = Path(tempfile.mkdtemp(prefix="power-mode-nobody-"))  # outside pytest's private (0700) tree
    try:
        os.chmod(base, 0o777)  # that user writes the run's files and the fake's call log here
        env = {**os.environ, "PATH": "/usr/bin:/bin"}
        found = fake_board(base, env)
        work = base / "run"
        spec = write_run(prepared, work, "15W")  # refused before the data is read
        result = subprocess.run(drop + [board_python("pytorch"), "-m", "edgebench.train.main", str(spec)],
                                capture_output=True, text=True, env=board_environment(env), timeout=300)
        assert read_refusal(work, result).startswith(
            f"hwconfigs.cpu_cfg1.power_mode: changing the power mode needs root: this run is uid {uid}")
        assert found.mode() == 1 and found.sets() == []
    finally:
        shutil.rmtree(base, ignore_errors=True)
