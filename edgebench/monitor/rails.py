"""Board power straight from its INA3221 / INA238 power monitors in sysfs, at up to 100 Hz.

tegrastats reads these same chips, once per interval (1 s by default), and prints one number per
rail; read directly, the rails can be sampled ten to a hundred times as often, which short
epochs and bursty training need. Three sysfs layouts exist (the sources of each are cited in
tests/fakes/sysfs.py, which builds them for the tests):

- JetPack 5, 6 and 7, INA3221 through the kernel's hwmon driver (Documentation/hwmon/ina3221.rst):
  `/sys/bus/i2c/devices/<bus>-<addr>/name` is `ina3221`, and `.../hwmon/hwmon<M>/` holds per
  channel N = 1..3 `in<N>_label` (the rail), `in<N>_input` (bus voltage, mV) and `curr<N>_input`
  (mA). Channels labelled `NC` are not connected; channel 7 is the "sum of shunt voltages", not
  a rail. Both are skipped, as jetson_stats' jtop skips them (jtop/core/power.py).
- INA238 (Thor's VIN, Documentation/hwmon/ina238.rst): name `ina238`, `hwmon<M>/power1_input`
  in uW; the rail's name is the chip's own label (`hwmon<M>/label`, the hwmon core's attribute
  from the device tree, Documentation/ABI/testing/sysfs-class-hwmon; or `in1_label`).
- JetPack 4 (L4T R32), NVIDIA's iio driver: `/sys/bus/i2c/drivers/ina3221x/<bus>-<addr>/
  iio:device<N>/rail_name_<K>` with `in_power<K>_input` (mW), `in_voltage<K>_input` (mV) and
  `in_current<K>_input` (mA). L4T R28 (JetPack 3) names the directory `iio_device`.

The sampler runs as its own process (`python -m edgebench.monitor.rails`), like the host
sampler, and writes hw.rails.log: a `# rails sampler start` marker with what it found, a
`# columns` line, then one CSV line per sample (UTC timestamp, CLOCK_MONOTONIC seconds, each
rail's power in mW; empty where a read failed). CSV, not JSON: at 100 Hz a ten-hour run is
3.6 million samples. Board side: Python 3.8+.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from edgebench.monitor.power import rail_column
from edgebench.monitor.sampling import ChildSampler, run_periodic
from edgebench.timestamps import utc_now

I2C_DEVICES = Path("sys", "bus", "i2c", "devices")
IIO_DRIVER = Path("sys", "bus", "i2c", "drivers", "ina3221x")  # JetPack 4's driver, bound devices listed
SUM_CHANNEL = 7  # INA3221 hwmon: in7 is the sum of the shunt voltages, not a rail
MARK = "# rails sampler start"
COLUMNS_MARK = "# columns"
# `NC` (not connected) as a word: AGX Orin's second INA3221 labels two channels so. jtop drops any
# label containing the letters, which would also drop a rail named like VDD_SYNC.
_NOT_CONNECTED_RE = re.compile(r"(?:^|[^A-Z0-9])NC(?:[^A-Z0-9]|$)")


def rail_name(label: str) -> str:
    """Return a label as a rail name for hw.csv columns: `VDD_IN`, `VDDQ_VDD2_1V8AO`."""
    return re.sub(r"[^A-Za-z0-9]+", "_", label.strip()).strip("_").upper()


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_text().strip()
    except OSError:
        return None


class Channel:
    """One rail: the files read for it and how their integers become milliwatts."""

    def __init__(self, rail: str, device: str, kind: str, files: List[Path], to_mw: Callable[..., float]):
        self.rail = rail
        self.device = device  # <bus>-<addr>, for the record
        self.kind = kind  # hwmon-ina3221, hwmon-ina238 or iio-ina3221x
        self.files = files
        self.to_mw = to_mw
        self._fds: List[int] = []

    @property
    def column(self) -> str:
        return rail_column(self.rail)

    def read_mw(self) -> Optional[float]:
        """Return the rail's power now, in mW, or None where a file could not be read this time."""
        # Kept open and re-read from offset 0 (sysfs regenerates the text on each read): an
        # open/read/close per file and sample would cost several times more at 100 Hz.
        try:
            if not self._fds:
                self._fds = [os.open(path, os.O_RDONLY) for path in self.files]
            return round(self.to_mw(*(int(os.pread(fd, 32, 0)) for fd in self._fds)), 3)
        except (OSError, ValueError):  # an I2C error (EIO), a chip gone
            return None

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []

    def describe(self) -> dict:
        return {"rail": self.rail, "device": self.device, "kind": self.kind, "files": [str(f) for f in self.files]}


def _devices(root: Path) -> List[Path]:
    """Return the I2C devices under root, each once (the driver's directory links the same devices)."""
    seen, devices = set(), []
    for base in (root / I2C_DEVICES, root / IIO_DRIVER):
        if not base.is_dir():
            continue
        for entry in sorted(base.iterdir()):
            real = entry.resolve()
            if real not in seen and (entry / "name").is_file():
                seen.add(real)
                devices.append(entry)
    return devices


def _hwmon_dirs(device: Path) -> List[Path]:
    return sorted(p for p in (device / "hwmon").glob("hwmon*") if p.is_dir())


def _ina3221_channels(device: Path, notes: List[str]) -> Tuple[List[Channel], List[dict]]:
    channels, chips = [], []
    for hwmon in _hwmon_dirs(device):
        chips.append({"device": device.name, "driver": "ina3221", "hwmon": str(hwmon),
                      # The chip averages `samples` conversions per reading and refreshes every
                      # update_interval ms: sampled faster, it repeats its last value.
                      "update_interval_ms": _read(hwmon / "update_interval"), "samples": _read(hwmon / "samples")})
        for label_file in sorted(hwmon.glob("in*_label")):
            number = int(label_file.name[2:-len("_label")])
            label = _read(label_file) or ""
            if number == SUM_CHANNEL or number > 3:
                continue  # "sum of shunt voltages"
            if _NOT_CONNECTED_RE.search(label.upper()):
                notes.append(f"{label_file}: {label!r}, not connected: skipped")
                continue
            if _read(hwmon / f"in{number}_enable") == "0":
                notes.append(f"{label_file}: {label!r} disabled (in{number}_enable = 0): skipped")
                continue
            # Bus voltage (mV) x current (mA) / 1000 = mW: the power the rail delivers.
            channels.append(Channel(rail_name(label), device.name, "hwmon-ina3221",
                                    [hwmon / f"in{number}_input", hwmon / f"curr{number}_input"],
                                    lambda mv, ma: mv * ma / 1000.0))
    return channels, chips


def _ina238_channels(device: Path, notes: List[str]) -> Tuple[List[Channel], List[dict]]:
    channels, chips = [], []
    for hwmon in _hwmon_dirs(device):
        chips.append({"device": device.name, "driver": "ina238", "hwmon": str(hwmon),
                      "update_interval_ms": _read(hwmon / "update_interval")})
        label = _read(hwmon / "label") or _read(hwmon / "in1_label")
        if not label:
            notes.append(f"{hwmon}: an INA238 without a label (hwmon label or in1_label): skipped, its rail unknown")
            continue
        # The chip computes power itself; uW / 1000 = mW.
        channels.append(Channel(rail_name(label), device.name, "hwmon-ina238", [hwmon / "power1_input"],
                                lambda uw: uw / 1000.0))
    return channels, chips


def _iio_channels(device: Path, notes: List[str]) -> Tuple[List[Channel], List[dict]]:
    channels, chips = [], []
    for iio in sorted(p for p in [*device.glob("iio:device*"), device / "iio_device"] if p.is_dir()):
        chips.append({"device": device.name, "driver": "ina3221x", "iio": str(iio)})
        for name_file in sorted(iio.glob("rail_name_*")):
            k = name_file.name[len("rail_name_"):]
            label = _read(name_file) or ""
            if _NOT_CONNECTED_RE.search(label.upper()):
                notes.append(f"{name_file}: {label!r}, not connected: skipped")
                continue
            channels.append(Channel(rail_name(label), device.name, "iio-ina3221x", [iio / f"in_power{k}_input"],
                                    lambda mw: float(mw)))
    return channels, chips


LAYOUTS = {"ina3221": _ina3221_channels, "ina238": _ina238_channels, "ina3221x": _iio_channels}


def find_channels(root="/") -> Tuple[List[Channel], dict]:
    """Return (the rails found under root's sysfs, what was found: chips, notes on what was skipped)."""
    root = Path(root)
    channels, chips, notes = [], [], []
    for device in _devices(root):
        name = _read(device / "name")
        layout = LAYOUTS.get(name) or (LAYOUTS["ina3221x"] if device.parent.name == IIO_DRIVER.name else None)
        if layout is None:
            continue
        found, found_chips = layout(device, notes)
        chips += found_chips
        for channel in found:
            if channel.rail in {c.rail for c in channels}:
                # Two chips with one label: kept apart by the device's address.
                notes.append(f"{channel.device}: a second rail named {channel.rail}: kept as "
                              f"{channel.rail}_{rail_name(channel.device)}")
                channel.rail = f"{channel.rail}_{rail_name(channel.device)}"
            channels.append(channel)
    if not chips:
        notes.append(f"no INA3221 / INA238 under {root / I2C_DEVICES} or {root / IIO_DRIVER}")
    return channels, {"rails": [c.rail for c in channels], "chips": chips, "notes": notes}


# --- the sampler process ------------------------------------------------------------------


def run_sampler(log_path: Path, rate_hz: float, root="/") -> None:
    """Sample every rail found under root at rate_hz into the log, until SIGTERM or SIGINT."""
    channels, found = find_channels(root)
    columns = ["timestamp", "monotonic_s"] + [c.column for c in channels]
    found = {**found, "rate_hz": rate_hz, "channels": [c.describe() for c in channels]}
    header = f"{MARK} {utc_now()} {json.dumps(found)}\n{COLUMNS_MARK} {','.join(columns)}"

    def take(first: bool) -> str:
        # Both clocks, back to back: UTC to place the sample beside the epochs (stamped in UTC by
        # the runner), CLOCK_MONOTONIC for the exact spacing of samples (no NTP step or slew).
        fields = [utc_now(), f"{time.monotonic():.6f}"]
        for channel in channels:
            value = channel.read_mw()
            fields.append("" if value is None else repr(value))
        return ",".join(fields)

    try:
        run_periodic(log_path, 1.0 / rate_hz, header, take)
    finally:
        for channel in channels:
            channel.close()


class RailsSampler(ChildSampler):
    """The direct rail sampler as a child process for the duration of a `with` block."""

    module = "edgebench.monitor.rails"
    what = "rail sampler"

    def __init__(self, log_path, rate_hz: float = 10.0, root="/"):
        super().__init__(log_path, ["--rate", rate_hz, "--root", root])
        self.rate_hz = rate_hz


# --- reading the log ----------------------------------------------------------------------


def parse_rails_log(log_path) -> tuple:
    """Return (hw.csv rows of a rail-sampler log, skipped line count, what the last start found).

    A line is a sample only if it is whole: the columns' count of fields, ended by a newline, no
    marker inside (a line cut by a kill runs into the next start's marker, which is still read).
    Restarts may find other rails; each stretch is read with its own columns. The log is read
    line by line and each stretch handed to pandas' C parser as one text: at 100 Hz a long run
    has millions of lines, which a list of split lines would hold many times over.
    """
    import io

    import pandas as pd

    frames, skipped, found = [], 0, None
    columns: Optional[List[str]] = None
    kept = io.StringIO()

    def flush() -> None:
        nonlocal kept
        if columns and kept.tell():
            kept.seek(0)
            frames.append(pd.read_csv(kept, header=None, names=columns, dtype={"timestamp": str}))
        kept = io.StringIO()

    with open(log_path, errors="replace") as log:
        for line in log:
            if not line.endswith("\n"):
                skipped += 1  # the last line, cut while it was written
                break
            line = line[:-1]
            if "#" in line and not line.startswith("#"):
                # A sample cut by a kill, run into the next start's marker: the sample is lost,
                # the marker is read.
                skipped += 1
                line = line[line.index("#"):]
            if line.startswith(MARK):
                try:
                    found = json.loads(line[line.index("{"):])
                except ValueError:  # a marker cut short
                    pass
            elif line.startswith(COLUMNS_MARK):
                flush()
                columns = line[len(COLUMNS_MARK):].strip().split(",")
            elif line.startswith("#") or not line.strip():
                continue
            elif columns is None or line.count(",") != len(columns) - 1:
                skipped += 1
            else:
                kept.write(line + "\n")
    flush()
    hw = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"timestamp": []})
    return hw, skipped, found


def main(argv=None) -> int:
    """Run the sampler from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", required=True, type=Path, help="log to append to")
    parser.add_argument("--rate", type=float, default=10.0, help="samples per second")
    parser.add_argument("--root", default="/", help="the directory holding sys/bus/i2c (default %(default)s)")
    args = parser.parse_args(argv)
    run_sampler(args.log, args.rate, args.root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
