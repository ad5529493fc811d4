"""A wall meter: the whole board's power from the socket, polled beside training (monitor.external).

The rails (tegrastats, INA3221) measure the module; the carrier board, fan, USB devices and the
power supply's own losses are only seen at the wall, which is what a lab's electricity bill and
MLPerf Power's meter measure. Two kinds of meter, polled every `interval_s`, each reading given
`timeout_s`:

- `type: command`: a command line (a USB power meter's CLI, a script) printing one reading in
  watts on a line; the last line it prints is the reading;
- `type: http-json`: a smart plug's HTTP API, a `preset` (Shelly Gen2: /rpc/Switch.GetStatus?id=0,
  field `apower`; Tasmota: /cm?cmnd=Status%208, field `StatusSNS.ENERGY.Power`) at `host`, or a
  `url` and the dotted `field` of the watts in its JSON reply.

A meter that does not answer or answers nonsense is refused before training (check_meter; the
message names the config key); a reading lost during training is written down as lost with
its reason, and never filled in. The sampler runs as its own process
(`python -m edgebench.monitor.wall`) writing hw.wall.log: JSON lines of `timestamp`,
`monotonic_s` and `power_wall_mw`, or `lost` and its reason. Board side: Python 3.8+.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

from edgebench.monitor.sampling import MISSED_MARK, ChildSampler, read_json_log, run_periodic

KEY = "monitor.external"
COLUMN = "power_wall_mw"
# preset -> (path on the plug, dotted field of the watts in its JSON reply)
PRESETS = {
    # Shelly Gen2+ RPC API: Switch.GetStatus returns the switch's status, `apower` its active power in W.
    "shelly-gen2": ("/rpc/Switch.GetStatus?id=0", "apower"),
    # Tasmota: `Status 8` (the sensors) returns {"StatusSNS": {"ENERGY": {"Power": W, ...}}}.
    "tasmota": ("/cm?cmnd=Status%208", "StatusSNS.ENERGY.Power"),
}


class MeterError(ValueError):
    """A meter configuration or reading that cannot be used; the message starts with the config key."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key


def meter_settings(external: dict) -> Optional[dict]:
    """Return the meter to poll (type, command or url and field, keys, interval, timeout), None when off.

    Raises MeterError naming the key for a combination that cannot work.
    """
    kind = external.get("type")
    given = [key for key in ("command", "preset", "host", "url", "field") if external.get(key) is not None]
    if kind is None:
        if given:
            raise MeterError(f"{KEY}.type", f"not set, but {KEY}.{given[0]} is (type: command or http-json)")
        return None
    timing = {"interval_s": float(external["interval_s"]), "timeout_s": float(external["timeout_s"])}
    if kind == "command":
        if not external.get("command"):
            raise MeterError(f"{KEY}.command", "type command needs the command line to run")
        extra = [key for key in given if key != "command"]
        if extra:
            raise MeterError(f"{KEY}.{extra[0]}", "is for type http-json, not command")
        return {"type": kind, "command": str(external["command"]), "key": f"{KEY}.command", **timing}
    if kind != "http-json":
        raise MeterError(f"{KEY}.type", f"{kind!r} unknown (command or http-json)")
    if external.get("command") is not None:
        raise MeterError(f"{KEY}.command", "is for type command, not http-json")
    preset = external.get("preset")
    if preset is not None:
        if preset not in PRESETS:
            raise MeterError(f"{KEY}.preset", f"{preset!r} unknown ({', '.join(PRESETS)})")
        for key in ("url", "field"):
            if external.get(key) is not None:
                raise MeterError(f"{KEY}.{key}", f"preset {preset} sets the {key} itself: give host only")
        if not external.get("host"):
            raise MeterError(f"{KEY}.host", f"preset {preset} needs the plug's address (host: 192.168.1.50)")
        host = str(external["host"]).rstrip("/")
        path, field = PRESETS[preset]
        url = (host if "://" in host else f"http://{host}") + path
        return {"type": kind, "url": url, "field": field, "key": f"{KEY}.host", "field_key": f"{KEY}.preset",
                "preset": preset, **timing}
    if external.get("host") is not None:
        raise MeterError(f"{KEY}.host", "is for a preset; without one give url (and field)")
    if not external.get("url") or not external.get("field"):
        missing = "url" if not external.get("url") else "field"
        raise MeterError(f"{KEY}.{missing}",
                         "type http-json needs a preset, or a url and the dotted field of the watts")
    return {"type": kind, "url": str(external["url"]), "field": str(external["field"]), "key": f"{KEY}.url",
            "field_key": f"{KEY}.field", **timing}


def _watts(value, key: str, shown) -> float:
    """Return a reading as watts, or raise MeterError: a number, finite, not negative."""
    try:
        if isinstance(value, bool):
            raise ValueError
        watts = float(value)
    except (TypeError, ValueError):
        raise MeterError(key, f"{shown!r} is not a reading in W") from None
    if not math.isfinite(watts) or watts < 0:
        raise MeterError(key, f"{shown!r} is not a power drawn (W)")
    return watts


def read_command(settings: dict) -> float:
    """Run the meter's command once and return its reading in W."""
    key = settings["key"]
    try:
        done = subprocess.run(settings["command"], shell=True, capture_output=True, text=True,
                              timeout=settings["timeout_s"])
    except subprocess.TimeoutExpired:
        raise MeterError(key, f"{settings['command']!r} printed no reading within timeout_s = "
                              f"{settings['timeout_s']:g} s") from None
    if done.returncode != 0:
        raise MeterError(key, f"{settings['command']!r} exited with {done.returncode}: "
                              f"{(done.stderr.strip() or done.stdout.strip())[-200:]!r}")
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        raise MeterError(key, f"{settings['command']!r} printed nothing (one reading in W per line expected)")
    return _watts(lines[-1], key, lines[-1])


# No proxy: a plug sits on the local network, and an http_proxy meant for the internet (a lab's,
# a cluster's) would answer for it or not at all.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def read_http_json(settings: dict) -> float:
    """GET the meter's URL once and return the reading at its field, in W."""
    key, url = settings["key"], settings["url"]
    try:
        with _DIRECT.open(url, timeout=settings["timeout_s"]) as reply:
            body = reply.read(1 << 20)
    except urllib.error.HTTPError as error:
        raise MeterError(key, f"{url} answered HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:  # refused, unreachable, timed out
        reason = getattr(error, "reason", error)
        raise MeterError(key, f"{url} did not answer within timeout_s = {settings['timeout_s']:g} s: "
                              f"{reason}") from None
    try:
        value = json.loads(body)
    except ValueError:
        raise MeterError(key, f"{url} replied with no JSON: {body[:80]!r}") from None
    for part in settings["field"].split("."):
        if not isinstance(value, dict) or part not in value:
            raise MeterError(settings["field_key"],
                             f"{settings['field']!r} is not in the reply of {url}: {body[:200]!r}")
        value = value[part]
    return _watts(value, settings["field_key"], value)


def read_watts(settings: dict) -> float:
    """Return one reading of the meter in W, or raise MeterError saying why there is none."""
    return read_command(settings) if settings["type"] == "command" else read_http_json(settings)


def check_meter(settings: dict) -> float:
    """Return a first reading, or raise MeterError: what a run checks before training."""
    return read_watts(settings)


# --- the sampler process ------------------------------------------------------------------


def run_sampler(log_path: Path, settings: dict) -> None:
    """Poll the meter every interval_s into the log, until SIGTERM or SIGINT."""

    def take(first: bool) -> str:
        began_utc, began = datetime.now(timezone.utc), time.monotonic()
        try:
            reading = {COLUMN: round(read_watts(settings) * 1000.0, 3)}
        except MeterError as error:
            reading = {"lost": str(error)}
        ended = time.monotonic()
        # Stamped halfway through the request: the reading is the meter's somewhere in between.
        middle = (ended - began) / 2
        stamp = (began_utc + timedelta(seconds=middle)).isoformat(timespec="microseconds")
        return json.dumps({"timestamp": stamp, "monotonic_s": round(began + middle, 6), **reading})

    shown = {k: v for k, v in settings.items() if k in ("type", "url", "field", "preset", "interval_s", "timeout_s")}
    run_periodic(log_path, settings["interval_s"], f"# wall meter start {json.dumps(shown)}", take)


class WallSampler(ChildSampler):
    """The wall meter's poller as a child process for the duration of a `with` block."""

    module = "edgebench.monitor.wall"
    what = "wall meter sampler"

    def __init__(self, log_path, settings: dict):
        # Its last reading, taken at the stop request, may take up to timeout_s.
        super().__init__(log_path, ["--settings", json.dumps(settings)], stop_timeout_s=10.0 + settings["timeout_s"])
        self.settings = settings


# --- reading the log ----------------------------------------------------------------------


def parse_wall_log(log_path) -> tuple:
    """Return (hw.csv rows of the readings, skipped lines, the losses: [(timestamp, count, reason)])."""
    import pandas as pd

    rows, skipped = read_json_log(log_path)
    lost = [(row.get("timestamp"), 1, row["lost"]) for row in rows if "lost" in row]
    with open(log_path, errors="replace") as log:
        for line in log:
            if line.startswith(MISSED_MARK):
                parts = line.split()
                if len(parts) >= 4 and parts[2].isdigit():
                    lost.append((parts[3], int(parts[2]), "the previous reading overran its interval"))
    readings = [row for row in rows if COLUMN in row]
    if not readings:
        return pd.DataFrame({"timestamp": []}), skipped, lost
    hw = pd.DataFrame(readings, columns=["timestamp", "monotonic_s", COLUMN])
    return hw, skipped, lost


def main(argv=None) -> int:
    """Run the sampler from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", required=True, type=Path, help="log to append to")
    parser.add_argument("--settings", required=True, help="the meter, as meter_settings() returns it (JSON)")
    args = parser.parse_args(argv)
    run_sampler(args.log, json.loads(args.settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
