"""The wall meter (monitor.external): a real HTTP server on 127.0.0.1 answering as Shelly Gen2 and
Tasmota plugs (tests/fakes/plug.py), a real command (tests/fakes/wallmeter), the poller a real
child process. A meter that cannot be used is refused naming its key; a reading lost during
training is counted and never filled in."""

import socket
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from edgebench.monitor import MonitorRefused, check_monitor, read_monitor
from edgebench.monitor.wall import MeterError, WallSampler, check_meter, meter_settings, parse_wall_log
from edgebench.schema import section_defaults
from edgebench.train.energy import wall_summary
from tests.fakes.plug import FakePlug

WALLMETER = Path(__file__).parent / "fakes" / "wallmeter"


def external(**keys) -> dict:
    return {**section_defaults("monitor")["external"], **keys}


def closed_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_no_meter_unless_a_type_is_given():
    assert meter_settings(external()) is None


@pytest.mark.parametrize("keys, named", [
    ({"url": "http://plug/x"}, "monitor.external.type: not set, but monitor.external.url is"),
    ({"type": "command"}, "monitor.external.command: type command needs"),
    ({"type": "command", "command": "x", "url": "http://plug"}, "monitor.external.url: is for type http-json"),
    ({"type": "http-json"}, "monitor.external.url: type http-json needs a preset, or a url"),
    ({"type": "http-json", "url": "http://plug/status"}, "monitor.external.field: type http-json needs"),
    ({"type": "http-json", "preset": "shelly-gen2"}, "monitor.external.host: preset shelly-gen2 needs"),
    ({"type": "http-json", "preset": "tasmota", "host": "plug", "field": "Power"}, "monitor.external.field: preset tasmota sets"),
    ({"type": "http-json", "host": "plug", "url": "http://plug", "field": "a"}, "monitor.external.host: is for a preset"),
])
def test_keys_that_cannot_work_together_are_refused_by_name(keys, named):
    with pytest.raises(MeterError) as caught:
        meter_settings(external(**keys))
    assert str(caught.value).startswith(named)


def test_presets_poll_the_plugs_documented_endpoints():
    with FakePlug(watts=14.75) as plug:
        shelly = meter_settings(external(type="http-json", preset="shelly-gen2", host=plug.host))
        tasmota = meter_settings(external(type="http-json", preset="tasmota", host=plug.host))
        custom = meter_settings(external(type="http-json", url=f"{plug.url}/custom", field="meter.watts"))
        assert shelly["url"] == f"http://{plug.host}/rpc/Switch.GetStatus?id=0" and shelly["field"] == "apower"
        assert tasmota["url"] == f"http://{plug.host}/cm?cmnd=Status%208"
        assert tasmota["field"] == "StatusSNS.ENERGY.Power"
        assert [check_meter(s) for s in (shelly, tasmota, custom)] == [14.75, 14.75, 14.75]
        assert plug.requests == 3


@pytest.mark.parametrize("mode, key, message", [
    ("html", "monitor.external.host", "replied with no JSON"),
    ("no-field", "monitor.external.preset", "'apower' is not in the reply"),
    ("text", "monitor.external.preset", "'twelve' is not a reading in W"),
    ("error", "monitor.external.host", "answered HTTP 500"),
])
def test_a_malformed_plug_is_refused_naming_the_key(mode, key, message):
    with FakePlug(mode=mode) as plug:
        settings = meter_settings(external(type="http-json", preset="shelly-gen2", host=plug.host))
        with pytest.raises(MeterError) as caught:
            check_meter(settings)
    assert caught.value.key == key and message in str(caught.value)


def test_an_unreachable_or_silent_plug_is_refused_within_its_timeout():
    settings = meter_settings(external(type="http-json", url=f"http://127.0.0.1:{closed_port()}/x", field="w"))
    with pytest.raises(MeterError, match=r"^monitor\.external\.url: http://127\.0\.0\.1:\d+/x did not answer"):
        check_meter(settings)
    with FakePlug(mode="slow", delay_s=5) as plug:
        settings = meter_settings(external(type="http-json", url=f"{plug.url}/custom", field="meter.watts",
                                           timeout_s=0.3))
        began = time.monotonic()
        with pytest.raises(MeterError, match="did not answer within timeout_s = 0.3 s"):
            check_meter(settings)
        assert time.monotonic() - began < 2


def test_a_command_meter_prints_one_reading_in_watts_per_line():
    command = f"{sys.executable} {WALLMETER} --watts 6.5 --header"
    assert check_meter(meter_settings(external(type="command", command=command))) == 6.5


@pytest.mark.parametrize("args, message", [
    ("--print 'no reading'", "'no reading' is not a reading in W"),
    ("--print -3", "'-3' is not a power drawn"),
    ("--exit 3", "exited with 3: 'wallmeter: device not found"),
    ("--print ''", "printed nothing"),
    ("--sleep 5", "printed no reading within timeout_s = 0.5 s"),
])
def test_a_broken_command_meter_is_refused_naming_the_key(args, message):
    settings = meter_settings(external(type="command", command=f"{sys.executable} {WALLMETER} {args}", timeout_s=0.5))
    with pytest.raises(MeterError) as caught:
        check_meter(settings)
    assert caught.value.key == "monitor.external.command" and message in str(caught.value)


def test_check_monitor_refuses_a_run_whose_meter_does_not_answer():
    monitor = {"external": external(type="http-json", preset="tasmota", host=f"127.0.0.1:{closed_port()}")}
    with pytest.raises(MonitorRefused, match=r"^monitor\.external\.host: http://127\.0\.0\.1:\d+/cm\?cmnd=Status%208 "
                                             r"did not answer"):
        check_monitor({"name": "demo", "monitor": "host"}, monitor)


def test_readings_lost_while_sampling_are_counted_and_never_filled_in(tmp_path):
    # The plug answers, then fails for a stretch (HTTP 500), then answers again; the poller runs
    # for real at 10 Hz. Each failed poll is a lost reading with its reason, and no row.
    with FakePlug(watts=20.0) as plug:
        settings = meter_settings(external(type="http-json", preset="shelly-gen2", host=plug.host, interval_s=0.1,
                                           timeout_s=1.0))
        log = tmp_path / "hw.wall.log"
        with WallSampler(log, settings):
            time.sleep(0.6)
            plug.mode = "error"
            failed_from = pd.Timestamp.now(tz="UTC")
            time.sleep(1.0)  # longer than a hole (monitor/energy.py MIN_HOLE_S): not bridged
            failed_to = pd.Timestamp.now(tz="UTC")
            plug.mode = "ok"
            plug.watts = 30.0
            time.sleep(0.6)
    hw, skipped, lost = parse_wall_log(log)
    assert skipped == 0 and len(hw) >= 6
    assert set(hw.columns) == {"timestamp", "monotonic_s", "power_wall_mw"}
    assert set(hw["power_wall_mw"]) == {20000.0, 30000.0}  # the readings, in mW; nothing made up between
    assert hw["monotonic_s"].is_monotonic_increasing
    failures = [(pd.Timestamp(t), n, reason) for t, n, reason in lost if "HTTP 500" in reason]
    assert len(failures) >= 3 and all(n == 1 for _, n, _ in failures)
    assert all(failed_from - pd.Timedelta(seconds=0.2) <= t <= failed_to + pd.Timedelta(seconds=0.2)
               for t, _, _ in failures)
    stamps = pd.to_datetime(hw["timestamp"], format="ISO8601")
    assert not ((stamps > failed_from + pd.Timedelta(seconds=0.15)) & (stamps < failed_to)).any()

    # Over one "epoch" covering the whole log, the losses inside it are counted and the energy
    # covers what the readings cover: the stretch without readings is a hole, not interpolated.
    epochs = pd.DataFrame({"started_at": [stamps.iloc[0].isoformat()], "ended_at": [stamps.iloc[-1].isoformat()],
                           "epoch_seconds": [(stamps.iloc[-1] - stamps.iloc[0]).total_seconds()]})
    block = wall_summary(hw, epochs, float(epochs["epoch_seconds"].sum()), interval_s=0.1, lost=lost)
    assert block["lost_in_training"] == block["lost_readings"] >= 3
    assert block["samples"] == len(hw) and 20 < block["avg_power_w"] < 30
    assert block["coverage"] < 0.75


def test_the_merged_trace_holds_the_wall_readings_beside_the_host_samples(tmp_path):
    # The host sampler (primary) and the wall poller write their own logs; read_monitor merges them
    # by timestamp, each column empty where its source has none.
    from edgebench.hwconfig import load_board
    from edgebench.monitor import open_monitor

    with FakePlug(watts=9.5) as plug:
        monitor = {"interval_s": 0.2, "external": external(type="http-json", preset="tasmota", host=plug.host,
                                                           interval_s=0.2)}
        with open_monitor(load_board("demo"), tmp_path / "hw.log", monitor) as running:
            assert running.plan.names == ["host", "wall"]
            time.sleep(1.0)
    trace = read_monitor(load_board("demo"), tmp_path / "hw.log", monitor)
    hw = trace.hw
    stamps = pd.to_datetime(hw["timestamp"], format="ISO8601")
    assert stamps.is_monotonic_increasing
    wall_rows, host_rows = hw["power_wall_mw"].notna(), hw["ram_used_mb"].notna()
    assert wall_rows.sum() >= 3 and host_rows.sum() >= 3 and not (wall_rows & host_rows).any()
    assert (hw.loc[wall_rows, "power_wall_mw"] == 9500.0).all()
    assert "power_total_mw" not in hw.columns  # the wall is the whole board, never the module's total
    assert trace.sources["wall"]["samples"] == wall_rows.sum() and trace.sources["wall"]["lost_readings"] == 0
