"""The monitor's sources together (edgebench/monitor/sources.py): tegrastats (tests/fakes/tegrastats),
the direct rails (a fake JetPack 4 TX2 tree) and a wall meter (a real HTTP server) run at once and
merge into one hw.csv; then a real training run (PyTorch, in its own interpreter) with all three,
through to run.json and the table; and a run whose meter does not answer, refused by name."""

import json
import os
import socket
import subprocess
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from edgebench.analysis.table import build_table, table_markdown
from edgebench.hwconfig import load_board
from edgebench.monitor import open_monitor, read_monitor, trailing_wait_s
from edgebench.monitor.host import parse_host_log
from edgebench.schema import section_defaults
from edgebench.train.energy import compared_sources
from tests.conftest import REPO, board_python, prepare_tiny_demo
from tests.fakes.plug import FakePlug
from tests.fakes.sysfs import make_jetson_rails

FAKES = Path(__file__).parent / "fakes"
TEGRASTATS_VDD_IN = {3140, 1840, 14025}  # the fake's replayed TX2 lines


def monitor(root, plug, *, interval_s=0.2, rate_hz=20) -> dict:
    return {**section_defaults("monitor"), "interval_s": interval_s,
            "rails": {"enabled": True, "rate_hz": rate_hz, "sysfs_root": str(root)},
            "external": {**section_defaults("monitor")["external"], "type": "http-json", "preset": "shelly-gen2",
                         "host": plug.host, "interval_s": interval_s}}


def test_with_no_other_source_hw_csv_is_the_primarys_alone(tmp_path):
    demo = load_board("demo")
    with open_monitor(demo, tmp_path / "hw.log", 0.2) as running:
        assert running.plan.names == ["host"]
        time.sleep(0.5)
    trace = read_monitor(demo, tmp_path / "hw.log", {"interval_s": 0.2})
    alone, _ = parse_host_log(tmp_path / "hw.log")
    pd.testing.assert_frame_equal(trace.hw, alone)  # no column, row or type added
    assert trace.power_source is None and set(trace.sources) == {"host"}
    assert not (tmp_path / "hw.rails.log").exists() and not (tmp_path / "hw.wall.log").exists()


def test_tegrastats_rails_and_wall_merge_into_one_trace(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    for name in ("FAKE_TEGRASTATS_LINES", "FAKE_TEGRASTATS_PARTIAL", "FAKE_TEGRASTATS_STDERR", "FAKE_TEGRASTATS_REPLAY"):
        monkeypatch.delenv(name, raising=False)
    make_jetson_rails(tmp_path, "tx2", "jp4")
    tx2 = load_board("tx2")
    with FakePlug(watts=8.25) as plug:
        settings = monitor(tmp_path, plug)
        with open_monitor(tx2, tmp_path / "state" / "hw.log", settings) as running:
            assert running.plan.names == ["tegrastats", "rails", "wall"]
            time.sleep(1.5)
            start, end = pd.Timestamp.now(tz="UTC") - pd.Timedelta(seconds=1.2), pd.Timestamp.now(tz="UTC")
            time.sleep(trailing_wait_s(tx2, settings))
    trace = read_monitor(tx2, tmp_path / "state" / "hw.log", settings)
    hw = trace.hw
    assert trace.power_source == "rails" and trace.power_interval_s == pytest.approx(0.05)
    assert set(trace.sources) == {"tegrastats", "rails", "wall"}
    assert pd.to_datetime(hw["timestamp"], format="ISO8601").is_monotonic_increasing
    rails_rows = hw["power_vdd_in_mw"].notna()
    tegra_rows = hw["tegrastats_power_vdd_in_mw"].notna()
    wall_rows = hw["power_wall_mw"].notna()
    # Each row comes from one source; the rails' rows hold the total, at their own rate.
    assert not (rails_rows & tegra_rows).any() and not (rails_rows & wall_rows).any()
    assert rails_rows.sum() > 2 * tegra_rows.sum() >= 8
    assert (hw.loc[rails_rows, "power_total_mw"] == 3133.0).all() and hw.loc[~rails_rows, "power_total_mw"].isna().all()
    assert set(hw.loc[tegra_rows, "tegrastats_power_total_mw"]) <= TEGRASTATS_VDD_IN
    assert hw.loc[tegra_rows, "cpu0_load_pct"].notna().all()  # tegrastats' other fields, unrenamed
    assert (hw.loc[wall_rows, "power_wall_mw"] == 8250.0).all()
    assert hw.attrs["power_total"]["columns"] == ["power_vdd_in_mw"]
    # The two sources' means over the same window, and their difference.
    epochs = pd.DataFrame({"started_at": [start.isoformat()], "ended_at": [end.isoformat()]})
    compared = compared_sources(hw, epochs, "rails", "tegrastats_power_total_mw")
    stamps = pd.to_datetime(hw["timestamp"], format="ISO8601")
    inside = (stamps >= start) & (stamps <= end)
    tegrastats_w = hw.loc[inside & tegra_rows, "tegrastats_power_total_mw"].mean() / 1000
    assert compared["avg_power_w"] == pytest.approx(3.133) and compared["other"] == "tegrastats"
    assert compared["other_avg_power_w"] == pytest.approx(tegrastats_w)
    assert compared["difference_w"] == pytest.approx(3.133 - tegrastats_w)


DRIVER = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from edgebench import logs
    from edgebench.hwconfig import load_board, resolve
    from edgebench.train import runner, spec as run_spec

    prepared, work, monitor = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
    work.mkdir(parents=True, exist_ok=True)
    logs.setup(str(work / "train.log"))
    board = load_board(sys.argv[4])
    spec = run_spec.RunSpec(
        framework="pytorch", model=sys.argv[5], hwconfig=resolve("cpu_cfg1", {"cores": ["core0"]}, board), rep=0,
        prepared_dir=prepared, input_size=32,
        training={"epochs": 2, "batch_size": 4, "optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9,
                  "weight_decay": 5e-4, "seed": 0, "augment": False},
        outputs={key: str(work / "run" / name) for key, name in run_spec.OUTPUT_FILES.items()},
        state_dir=work / "state", board=board, monitor=monitor, lock_dir=work)
    runner.run(spec)
""")


def jetson_profile(tmp_path) -> Path:
    """Return a board description: the TX2's monitor and power, on core 0 of this machine."""
    board = {**load_board("tx2"), "name": "tx2_on_core0", "cores": {"core0": [0]}, "gpu": None}
    path = tmp_path / "tx2_on_core0.yaml"
    path.write_text(json.dumps(board))  # JSON is YAML
    return path


def train(prepared, work, settings, board, model):
    env = {"PYTHONPATH": str(REPO), "PATH": f"{FAKES}:/usr/bin:/bin"}
    done = subprocess.run([board_python("pytorch"), "-c", DRIVER, str(prepared), str(work), json.dumps(settings),
                           str(board), model], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((work / "run" / "run.json").read_text())


def test_a_run_with_all_three_sources_reports_each_and_the_table_shows_them(tmp_path):
    prepared = prepare_tiny_demo(tmp_path / "data", seed=5)
    make_jetson_rails(tmp_path / "sysfs", "tx2", "jp4")
    with FakePlug(watts=9.5) as plug:
        # DenseNet-121 at 32 px: epochs of about a second here, long enough for every source to
        # sample inside them (LeNet's last 10-40 ms).
        summary = train(prepared, tmp_path / "work", monitor(tmp_path / "sysfs", plug, interval_s=0.1, rate_hz=50),
                        jetson_profile(tmp_path), "densenet121")
    assert summary["status"] == "done", summary["reason"]
    assert summary["monitor"]["power_source"] == "rails"
    assert set(summary["monitor"]["sources"]) == {"tegrastats", "rails", "wall"}
    assert summary["monitor"]["sources"]["rails"]["rails"] == load_board("tx2")["power"]["sysfs_rails"]
    energy = summary["energy"]
    assert energy["avg_power_w"] == pytest.approx(3.133) and energy["coverage"] > 0.99
    compared = energy["compared"]
    assert compared["other"] == "tegrastats" and compared["other_avg_power_w"] * 1000 >= min(TEGRASTATS_VDD_IN)
    assert compared["difference_w"] == pytest.approx(compared["avg_power_w"] - compared["other_avg_power_w"])
    wall = energy["wall"]
    assert wall["avg_power_w"] == 9.5 and wall["lost_readings"] == 0 and wall["coverage"] > 0.9
    assert wall["energy_wh"] == pytest.approx(9.5 * summary["total_time_s"] / 3600)
    run = tmp_path / "work" / "run"
    assert (run / "hw.rails.log").is_file() and (run / "hw.wall.log").is_file()  # the raw records, beside hw.log
    hw = pd.read_csv(run / "hw.csv")
    assert {"power_total_mw", "tegrastats_power_total_mw", "power_wall_mw", "monotonic_s"} <= set(hw.columns)

    frame = build_table([run / "run.json"])
    markdown = table_markdown(frame)
    assert "Power from the monitor's other sources" in markdown and "avg_power_w_wall" in markdown
    table = frame.iloc[0]
    assert table["avg_power_w"] == pytest.approx(3.133) and table["avg_power_w_wall"] == 9.5
    assert table["energy_wh_wall"] == pytest.approx(wall["energy_wh"]) and table["wall_lost_readings"] == 0
    assert table["avg_power_w_rails_vs_tegrastats"] == pytest.approx(compared["difference_w"])


def test_a_run_whose_meter_does_not_answer_is_a_refusal_naming_the_key(tmp_path):
    # Refused before anything else: no framework is imported, so this runs in the test's own process.
    from edgebench.train import runner, spec as run_spec

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    board = load_board("demo")
    from edgebench.hwconfig import resolve

    settings = {**section_defaults("monitor"),
                "external": {**section_defaults("monitor")["external"], "type": "http-json",
                             "url": f"http://127.0.0.1:{port}/status", "field": "power.w", "timeout_s": 0.5}}
    work = tmp_path / "work"
    spec = run_spec.RunSpec(
        framework="pytorch", model="lenet", hwconfig=resolve("cpu_cfg1", {"cores": ["core0"]}, board), rep=0,
        prepared_dir=tmp_path, input_size=32, training={"epochs": 1, "batch_size": 4, "seed": 0},
        outputs={key: str(work / "run" / name) for key, name in run_spec.OUTPUT_FILES.items()},
        state_dir=work / "state", board=board, monitor=settings, lock_dir=work)
    summary = runner.run(spec)
    assert summary["status"] == "refused"
    assert summary["reason"].startswith(f"monitor.external.url: http://127.0.0.1:{port}/status did not answer")
    assert json.loads((work / "run" / "run.json").read_text())["status"] == "refused"
