"""Device profiles, configuration resolution, host checks, and real pinning in a child process."""

import json
import subprocess

import pytest

from edgebench.hwconfig import HardwareConfigError, check_host, load_board, resolve
from edgebench.hwconfig.apply import thread_environment
from edgebench.hwconfig.resolve import host_cores, host_has_gpu
from edgebench.interpreters import board_environment
from tests.conftest import board_python


def test_demo_profile_maps_two_cores():
    board = load_board("demo")
    assert board["cores"] == {"core0": [0], "core1": [1]}
    cfg = resolve("cpu_cfg3", {"cores": ["core0", "core1"]}, board)
    assert cfg.cores == (0, 1) and cfg.threads == 2 and not cfg.gpu


def test_unknown_profile_names_the_key():
    with pytest.raises(FileNotFoundError, match="board 'no_such_board' not found"):
        load_board("no_such_board")


def test_unknown_core_group_is_refused():
    with pytest.raises(HardwareConfigError, match=r"hwconfigs\.cpu_cfg1\.cores: core group 'a57'"):
        resolve("cpu_cfg1", {"cores": ["a57"]}, load_board("demo"))


def test_core_the_host_lacks_is_refused():
    missing = max(host_cores()) + 1
    board = {"name": "big", "cores": {"many": [0, missing]}}
    cfg = resolve("cpu_cfg9", {"cores": ["many"]}, board)
    with pytest.raises(HardwareConfigError, match=rf"hwconfigs\.cpu_cfg9\.cores: core\(s\) \[{missing}\] not available"):
        check_host(cfg)


def test_gpu_config_on_host_without_gpu_is_refused():
    cfg = resolve("gpu_cfg1", {"cores": ["core0"], "gpu": True}, load_board("demo"))
    with pytest.raises(HardwareConfigError, match=r"hwconfigs\.gpu_cfg1\.gpu: true, but this host has no usable"):
        check_host(cfg, gpu_available=False)
    if not host_has_gpu():  # the real probe agrees on this machine
        with pytest.raises(HardwareConfigError):
            check_host(cfg)


def test_all_group_takes_every_usable_core():
    cfg = resolve("cpu_all", {"cores": ["all"]}, load_board("host"))
    assert set(cfg.cores) == host_cores()


def test_cpu_config_hides_gpu_and_sizes_threads():
    cfg = resolve("cpu_cfg1", {"cores": ["core0"]}, load_board("demo"))
    env = thread_environment(cfg)
    assert env["OMP_NUM_THREADS"] == "1" and env["CUDA_VISIBLE_DEVICES"] == ""


# After entering the config, each framework's own interpreter reports what it will compute with.
THREADS_SEEN = {
    "pytorch": "import torch\nseen = {'threads': torch.get_num_threads(), 'gpu': torch.cuda.is_available()}",
    # MXNet has no call that reports its pool sizes: it reads these variables at import.
    "mxnet": "from edgebench.compat import import_mxnet\nmx = import_mxnet()\n"
             "seen = {'threads': int(os.environ['MXNET_CPU_WORKER_NTHREADS']), 'gpu': mx.context.num_gpus() > 0}",
}


@pytest.mark.skipif(len(host_cores()) < 2 or 1 not in host_cores(), reason="needs core 1")
@pytest.mark.parametrize("framework", sorted(THREADS_SEEN))
def test_enter_pins_a_real_process_in_the_frameworks_own_interpreter(framework):
    # A child process enters the config exactly as a training run does, then imports its framework.
    code = f"""
import json, os
from edgebench.hwconfig import load_board, resolve
from edgebench.hwconfig.apply import enter
enter(resolve("cpu_cfg2", {{"cores": ["core1"]}}, load_board("demo")))
{THREADS_SEEN[framework]}
print(json.dumps({{"affinity": sorted(os.sched_getaffinity(0)), "omp": os.environ["OMP_NUM_THREADS"], **seen}}))
"""
    out = subprocess.run([board_python(framework), "-c", code], check=True, capture_output=True, text=True,
                         env=board_environment())
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"affinity": [1], "omp": "1", "threads": 1, "gpu": False}


def test_a_board_description_left_in_the_old_directory_is_found_by_name(tmp_path, monkeypatch):
    from edgebench.hwconfig import boards

    (tmp_path / "resources" / "boards").mkdir(parents=True)
    (tmp_path / "resources" / "profiles").mkdir()
    (tmp_path / "resources" / "profiles" / "mine.yaml").write_text("name: mine\ncores: {all4: [0]}\n")
    monkeypatch.setattr(boards, "BOARDS_DIR", tmp_path / "resources" / "boards")
    assert boards.load_board("mine")["cores"] == {"all4": [0]}
    with pytest.raises(FileNotFoundError, match="board 'other' not found"):
        boards.load_board("other")
