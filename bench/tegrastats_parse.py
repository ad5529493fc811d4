"""Parser throughput on a synthetic TX2 hw.log (goal: parse_log >= 100k lines/s of CPU time).

Writes N lines shaped like the runner's hw.log on a TX2 (our ISO arrival stamp, then a
tegrastats line with the L4T R32 field set and values that vary line by line; the set of
offline cores changes every 50,000 lines; one line in 10,000 cut off). Times parse_line()
alone, line by line, then parse_log() end to end: reading the file, parsing, building the
DataFrame and adding power_total_mw. Prints lines/s by wall clock and by this process's CPU
time (the second is the fairer figure on a shared machine), a yardstick of the machine's
speed and the process's peak memory. Then, on the log's first 200,000 lines (20 of them cut
off), compares the two readers: read_lines() (line by line) and parse_log() must skip the
same lines.

    python bench/tegrastats_parse.py [--lines 1000000] [--seed 0]
"""

import argparse
import itertools
import os
import random
import resource
import sys
import tempfile
import time
import timeit
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas  # noqa: E402,F401  (imported up front: import time is not parsing time)

from edgebench.monitor.tegrastats import parse_line, parse_log, read_lines  # noqa: E402


def tx2_line(rng: random.Random, stamp: datetime, offline=()) -> str:
    """Return one stamped TX2 line with plausible, varying values and the given cores off."""
    cores = ",".join(
        "off" if core in offline else f"{rng.randint(0, 100)}%@{rng.choice((345, 1113, 2035))}"
        for core in range(6)
    )
    gpu, soc, wifi, cpu, ddr = (rng.randint(0, 6000), rng.randint(300, 1500), rng.randint(0, 700),
                                rng.randint(200, 4000), rng.randint(200, 2800))
    vin = gpu + soc + wifi + cpu + ddr + rng.randint(500, 1500)
    temps = " ".join(f"{name}@{rng.uniform(30, 70):.1f}C" for name in ("PLL", "MCPU"))
    return (
        f"{stamp.isoformat(timespec='milliseconds')} "
        f"RAM {rng.randint(500, 7800)}/7852MB (lfb {rng.randint(1, 1200)}x4MB) "
        f"SWAP {rng.randint(0, 100)}/3926MB (cached 0MB) CPU [{cores}] "
        f"EMC_FREQ {rng.randint(0, 60)}%@1866 GR3D_FREQ {rng.randint(0, 99)}%@1300 APE 150 "
        f"{temps} PMIC@100C Tboard@{rng.randint(25, 50)}C GPU@{rng.uniform(30, 70):.1f}C "
        f"BCPU@{rng.uniform(30, 70):.1f}C thermal@{rng.uniform(30, 70):.2f}C Tdiode@{rng.uniform(30, 60):.2f}C "
        f"VDD_SYS_GPU {gpu}/{gpu} VDD_SYS_SOC {soc}/{soc} VDD_4V0_WIFI {wifi}/{wifi} "
        f"VDD_IN {vin}/{vin} VDD_SYS_CPU {cpu}/{cpu} VDD_SYS_DDR {ddr}/{ddr}\n"
    )


# Offline cores of the thesis's TX2 configurations (a57 = 0,3,4,5; denver = 1,2).
# cpu0 cannot go offline: a57-only is (1, 2), denver-only (3, 4, 5), one a57 (1, 2, 3, 4, 5).
HOTPLUG_SETS = [(), (1, 2), (3, 4, 5), (1, 2, 3, 4, 5)]


def write_log(path: Path, lines: int, seed: int) -> int:
    """Return the number of garbage lines after writing a synthetic hw.log of `lines` lines."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    garbage = 0
    with open(path, "w", encoding="utf-8") as out:
        offline = ()
        for i in range(lines):
            if i % 50_000 == 0:
                # Cores go on or off between runs (hotplug configurations), not from one
                # second to the next: a new set every 50,000 lines, as in the thesis's matrix.
                offline = rng.choice(HOTPLUG_SETS)
            line = tx2_line(rng, start + timedelta(seconds=i), offline)
            if i % 10_000 == 9_999:
                line = line[: rng.randint(40, len(line) - 10)] + "\n"  # cut off mid-line
                garbage += 1
            out.write(line)
    return garbage


COMPARED_LINES = 200_000


def compare_readers(log: Path, lines: int) -> dict:
    """Return what the line-by-line reader and parse_log make of the log's first lines."""
    with open(log, encoding="utf-8") as handle:
        head = list(itertools.islice(handle, lines))
    cut = sum(i % 10_000 == 9_999 for i in range(lines))  # as write_log cuts them
    alone = sum(parse_line(line) is not None for i, line in enumerate(head) if i % 10_000 == 9_999)
    rows, line_skipped = read_lines(head)
    df, log_skipped = parse_log(head, board="tx2")
    same = [row["timestamp"] for row in rows] == list(df["timestamp"])
    return {"lines": lines, "cut": cut, "alone": alone, "line_skipped": line_skipped,
            "log_skipped": log_skipped, "same": "yes" if same else "NO"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "hw.log"
        garbage = write_log(log, args.lines, args.seed)
        size_mb = log.stat().st_size / 2**20

        wall, cpu = time.perf_counter(), time.process_time()
        with open(log, encoding="utf-8") as handle:
            parsed = sum(parse_line(line) is not None for line in handle)
        line_wall, line_cpu = time.perf_counter() - wall, time.process_time() - cpu

        wall, cpu = time.perf_counter(), time.process_time()
        df, skipped = parse_log(log, board="tx2")
        log_wall, log_cpu = time.perf_counter() - wall, time.process_time() - cpu
        readers = compare_readers(log, min(args.lines, COMPARED_LINES))

    assert len(df) == args.lines - skipped and skipped <= garbage, (skipped, garbage, len(df))
    print(f"log: {args.lines} lines, {size_mb:.0f} MiB, {garbage} cut-off lines written, {skipped} skipped "
          f"({parsed} lines looked whole alone: one cut between two fields, or inside the digits that end a field, "
          f"is told by its neighbours; one cut inside the digits the line ends with by nothing)")
    print(f"parse_line only : {args.lines / line_wall:10,.0f} lines/s wall  {args.lines / line_cpu:10,.0f} lines/s CPU")
    print(f"parse_log (csv) : {args.lines / log_wall:10,.0f} lines/s wall  {args.lines / log_cpu:10,.0f} lines/s CPU"
          f"  ({log_wall:.1f} s wall, DataFrame {df.shape[0]}x{df.shape[1]})")
    # A yardstick for comparing machines: a typical 2020s desktop core takes 7-10 us for this.
    yardstick_us = min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"sum(range(1000)) takes {yardstick_us:.1f} us")
    print("readers on the first {lines:,} lines ({cut} cut off): parse_line alone takes {alone} of them for whole; "
          "read_lines skips {line_skipped}, parse_log {log_skipped}; the same rows kept: {same}".format(**readers))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak_mb:.0f} MiB")
    goal = 100_000
    print(f"goal {goal:,} lines/s (parse_log, CPU): {'met' if args.lines / log_cpu >= goal else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
