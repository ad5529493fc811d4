"""tegrastats parser: every recorded line in tests/fakes/tegrastats_samples.jsonl (real output of
TX1, TX2, Nano, AGX Xavier, Orin Nano, Orin NX, AGX Orin and Thor, L4T R23 to JetPack 7.2, with
its source per line) parses to the values printed in it; lines cut off are skipped and counted
alike by every reader. Expected values below are read off the printed lines."""

import json
import math
import random
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from edgebench.monitor.tegrastats import blocks as tegrastats_blocks
from edgebench.monitor.tegrastats import fast as tegrastats_fast
from edgebench.monitor.tegrastats import cli, line_ending, parse_line, parse_log, read_lines
from edgebench.monitor.tegrastats.reference import MIN_RUN_LINES, numeric_columns

SAMPLES = Path(__file__).parent / "fakes" / "tegrastats_samples.jsonl"
RECORDS = [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]
LINES = [record["line"] for record in RECORDS]
NONE = None  # an `off` core/engine or a -256C sensor: present, empty


def cores(*pairs):
    """Return expected cpu<i>_load_pct / cpu<i>_freq_mhz columns from (load, freq) pairs."""
    out = {}
    for i, pair in enumerate(pairs):
        load, freq = (None, None) if pair == "off" else pair
        out[f"cpu{i}_load_pct"], out[f"cpu{i}_freq_mhz"] = load, freq
    return out


def rails(**values):
    """Return expected power columns from RAIL=(cur, avg[, max]) keywords."""
    out = {}
    for rail, triple in values.items():
        out[f"power_{rail.lower()}_mw"] = triple[0]
        out[f"power_{rail.lower()}_avg_mw"] = triple[1]
        if len(triple) == 3:
            out[f"power_{rail.lower()}_max_mw"] = triple[2]
    return out


def temps(**values):
    """Return expected temp_<sensor>_c columns (a pair gives cur and max)."""
    out = {}
    for sensor, value in values.items():
        if isinstance(value, tuple):
            out[f"temp_{sensor.lower()}_c"], out[f"temp_{sensor.lower()}_max_c"] = value
        else:
            out[f"temp_{sensor.lower()}_c"] = value
    return out


# One entry per line of samples.jsonl, in file order: the whole parsed row.
EXPECTED = [
    # 0 TX1: IRAM, %@f CPU, EMC_FREQ/GR3D_FREQ with frequency, APE, unit-less rails
    {"timestamp": None, "ram_used_mb": 1179, "ram_total_mb": 3983, "ram_lfb_blocks": 120,
     "ram_lfb_block_mb": 4, "iram_used_kb": 0, "iram_total_kb": 252, "iram_lfb_kb": 252,
     **cores((1, 102), (4, 102), (0, 102), (0, 102)),
     "emc_load_pct": 7, "emc_freq_mhz": 408, "gpu_load_pct": 0, "gpu_freq_mhz": 76, "ape_freq_mhz": 25,
     **temps(AO=42.5, CPU=37.5, GPU=39.0, PLL=37.0, Tdiode=42.75, PMIC=100.0, Tboard=42.0, thermal=38.5),
     **rails(VDD_IN=(2532, 2698), VDD_CPU=(76, 178), VDD_GPU=(19, 19))},
    # 1 TX2 (thesis board, VDD_SYS_* naming), EMC/GR3D without frequency (non-root)
    {"timestamp": None, "ram_used_mb": 2020, "ram_total_mb": 7852, "ram_lfb_blocks": 1164,
     "ram_lfb_block_mb": 4,
     **cores((9, 345), (21, 345), (25, 345), (3, 345), (1, 345), (1, 345)),
     "emc_load_pct": 0, "gpu_load_pct": 0,
     **temps(PLL=42.5, MCPU=42.5, PMIC=100.0, Tboard=40.0, GPU=41.0, BCPU=42.5, thermal=41.9, Tdiode=41.25),
     **rails(VDD_SYS_GPU=(153, 158), VDD_SYS_SOC=(536, 547), VDD_4V0_WIFI=(633, 527),
             VDD_IN=(3140, 3208), VDD_SYS_CPU=(536, 590), VDD_SYS_DDR=(557, 601))},
    # 2 TX2 with SWAP
    {"timestamp": None, "ram_used_mb": 896, "ram_total_mb": 7859, "ram_lfb_blocks": 26,
     "ram_lfb_block_mb": 4, "swap_used_mb": 0, "swap_total_mb": 3929, "swap_cached_mb": 0,
     **cores((4, 2035), (4, 345), (4, 345), (1, 2035), (0, 2035), (0, 2035)),
     "emc_load_pct": 0, "gpu_load_pct": 0,
     **temps(PLL=34.5, MCPU=34.5, PMIC=100.0, Tboard=29.0, GPU=31.0, BCPU=34.5, thermal=32.8, Tdiode=30.5),
     **rails(VDD_SYS_GPU=(153, 153), VDD_SYS_SOC=(383, 383), VDD_4V0_WIFI=(0, 0),
             VDD_IN=(1840, 1840), VDD_SYS_CPU=(306, 306), VDD_SYS_DDR=(269, 269))},
    # 3 TX2 L4T 32.1 naming; lfb in kB; MTS fg/bg
    {"timestamp": None, "ram_used_mb": 4722, "ram_total_mb": 7844, "ram_lfb_blocks": 1,
     "ram_lfb_block_mb": 0.5,
     **cores((55, 2035), (14, 2034), (27, 2034), (55, 2035), (47, 2035), (45, 2035)),
     "emc_load_pct": 2, "emc_freq_mhz": 1866, "gpu_load_pct": 71, "gpu_freq_mhz": 1300,
     "ape_freq_mhz": 150, "mts_fg_pct": 0, "mts_bg_pct": 0,
     **temps(BCPU=45.0, MCPU=45.0, GPU=51.0, PLL=45.0, AO=47.5, Tboard=37.0, Tdiode=46.75, PMIC=100.0,
             thermal=46.4),
     **rails(VDD_IN=(14025, 14416), VDD_CPU=(2209, 2538), VDD_GPU=(6854, 6903), VDD_SOC=(1371, 1370),
             VDD_WIFI=(19, 19), VDD_DDR=(2702, 2702))},
    # 4 Nano: IRAM glued to its lfb, NVENC/NVDEC frequencies, POM_5V_* rails
    {"timestamp": None, "ram_used_mb": 1180, "ram_total_mb": 3965, "ram_lfb_blocks": 1,
     "ram_lfb_block_mb": 2, "swap_used_mb": 149, "swap_total_mb": 1024, "swap_cached_mb": 7,
     "iram_used_kb": 0, "iram_total_kb": 252, "iram_lfb_kb": 252,
     **cores((30, 1036), (33, 1036), (28, 1036), (26, 1036)),
     "emc_load_pct": 10, "emc_freq_mhz": 1600, "gpu_load_pct": 0, "gpu_freq_mhz": 76,
     "nvenc_freq_mhz": 716, "nvdec_freq_mhz": 716, "ape_freq_mhz": 25,
     **temps(PLL=57.0, CPU=60.5, PMIC=100.0, GPU=59.0, AO=65.0, thermal=59.75),
     **rails(POM_5V_IN=(4520, 4680), POM_5V_GPU=(0, 0), POM_5V_CPU=(1078, 1205))},
    # 5 AGX Xavier: four cores off, rails without VDD_ prefix
    {"timestamp": None, "ram_used_mb": 1736, "ram_total_mb": 15827, "ram_lfb_blocks": 3283,
     "ram_lfb_block_mb": 4,
     **cores((1, 1160), (2, 1161), (0, 1189), (0, 1189), "off", "off", "off", "off"),
     "emc_load_pct": 0, "emc_freq_mhz": 665, "gpu_load_pct": 0, "gpu_freq_mhz": 114,
     "ape_freq_mhz": 150, "mts_fg_pct": 0, "mts_bg_pct": 0,
     **temps(AO=29.0, GPU=30.0, iwlwifi=34.0, Tboard=30.0, Tdiode=33.0, AUX=29.0, CPU=30.0,
             thermal=29.45, PMIC=100.0),
     **rails(GPU=(466, 466), CPU=(466, 466), SOC=(932, 932), CV=(0, 0), VDDRQ=(0, 0), SYS5V=(1854, 1854))},
    # 6 Orin Nano: leading timestamp, GR3D %@[f], engines off, lower-case sensors, mW rails
    {"timestamp": "2024-11-15T08:38:09", "ram_used_mb": 6185, "ram_total_mb": 7620,
     "ram_lfb_blocks": 8, "ram_lfb_block_mb": 2, "swap_used_mb": 851, "swap_total_mb": 3810,
     "swap_cached_mb": 1,
     **cores((15, 729), (11, 729), (14, 729), (13, 729), (11, 729), (8, 729)),
     "emc_load_pct": 43, "emc_freq_mhz": 2133, "gpu_load_pct": 63, "gpu_freq_mhz": 621,
     "nvdec_freq_mhz": NONE, "nvjpg_freq_mhz": NONE, "nvjpg1_freq_mhz": NONE, "vic_freq_mhz": NONE,
     "ofa_freq_mhz": NONE, "ape_freq_mhz": 200,
     **temps(cpu=53.968, soc2=52.437, soc0=50.75, gpu=53.343, tj=53.968, soc1=51.656),
     **rails(VDD_IN=(12479, 12479), VDD_CPU_GPU_CV=(4667, 4667), VDD_SOC=(2817, 2817))},
    # 7 Orin NX without rails (no power columns at all)
    {"timestamp": "2026-09-22T00:29:21", "ram_used_mb": 4461, "ram_total_mb": 15524,
     "ram_lfb_blocks": 196, "ram_lfb_block_mb": 4, "swap_used_mb": 34, "swap_total_mb": 7762,
     "swap_cached_mb": 0, **cores(*[(0, 1984)] * 3, (1, 1984), *[(0, 1984)] * 4),
     "emc_load_pct": 0, "gpu_load_pct": 0, "gpu_freq_mhz": 0,
     **temps(CV0=51.093, CPU=52.75, SOC2=51.281, SOC0=52.125, CV1=51.187, GPU=50.656, tj=52.843,
             SOC1=52.781, CV2=50.0)},
    # 8 AGX Orin JP5: GR3D2_FREQ, VIC_FREQ, @-256C sensors off, NC rails dropped
    {"timestamp": "2023-04-24T00:01:24", "ram_used_mb": 1282, "ram_total_mb": 62795,
     "ram_lfb_blocks": 15152, "ram_lfb_block_mb": 4, "swap_used_mb": 0, "swap_total_mb": 31398,
     "swap_cached_mb": 0, **cores(*[(0, 729)] * 12),
     "emc_load_pct": 0, "emc_freq_mhz": 2133, "gpu_load_pct": 0, "gpu_freq_mhz": 0,
     "gpu2_load_pct": 0, "gpu2_freq_mhz": 0, "vic_freq_mhz": 729, "ape_freq_mhz": 174,
     **temps(CV0=NONE, CPU=42.593, Tboard=32.0, SOC2=39.343, Tdiode=33.25, SOC0=39.375, CV1=NONE,
             GPU=NONE, tj=42.593, SOC1=40.468, CV2=NONE),
     **rails(VDD_GPU_SOC=(2399, 2399), VDD_CPU_CV=(400, 400), VIN_SYS_5V0=(4032, 4032),
             VDDQ_VDD2_1V8AO=(301, 301))},
    # 9 Thor R38: GR3D @[a,b,c] without load, *_FREQ @0 engines, `off` engines
    {"timestamp": "2026-05-17T10:00:32", "ram_used_mb": 4208, "ram_total_mb": 125773,
     "ram_lfb_blocks": 31, "ram_lfb_block_mb": 4, "swap_used_mb": 0, "swap_total_mb": 2048,
     "swap_cached_mb": 0,
     **cores((1, 972), (0, 972), (0, 972), (0, 972), (1, 972), (0, 972), (1, 972), (1, 972),
             (0, 972), (0, 972), (3, 972), (0, 972), (0, 972), (1, 972)),
     "emc_load_pct": 0, "emc_freq_mhz": 665, "gpu_load_pct": NONE, "gpu_freq_mhz": 0,
     "nvenc0_freq_mhz": 0, "nvenc1_freq_mhz": 0, "nvdec0_freq_mhz": 0, "nvdec1_freq_mhz": 0,
     "nvjpg0_freq_mhz": 0, "vic_freq_mhz": NONE, "ofa_freq_mhz": 0, "pva0_freq_mhz": NONE,
     "ape_freq_mhz": 300,
     **temps(cpu=34.468, tj=34.5, soc012=33.781, soc345=34.5),
     **rails(VDD_GPU=(0, 0), VDD_CPU_SOC_MSS=(4165, 4165), VIN_SYS_5V0=(4126, 4126))},
    # 10 AGX Orin JP7.2: cur/max temperatures, cur/avg/max rails, NVDLA/PVA off, %@[a,b]
    {"timestamp": "2026-07-25T09:08:28", "ram_used_mb": 20642, "ram_total_mb": 62817,
     "ram_lfb_blocks": 1, "ram_lfb_block_mb": 2,
     **cores((23, 2201), (10, 2201), (4, 2201), (14, 2201), (30, 2201), (18, 2201), (10, 2201),
             (10, 2201), (33, 2201), (7, 2201), (5, 2201), (27, 2201)),
     "emc_load_pct": 3, "emc_freq_mhz": 3199, "gpu_load_pct": 12, "gpu_freq_mhz": 1300,
     "nvenc0_freq_mhz": NONE, "nvdec0_freq_mhz": NONE, "nvjpg0_freq_mhz": NONE,
     "nvjpg1_freq_mhz": NONE, "vic_freq_mhz": NONE, "ofa_freq_mhz": NONE, "nvdla0_freq_mhz": NONE,
     "nvdla1_freq_mhz": NONE, "pva0_freq_mhz": NONE, "ape_freq_mhz": 174,
     **temps(cpu=(52.968, 52.968), soc2=(48.406, 48.406), soc0=(49.531, 49.531), gpu=(47.625, 47.625)),
     **rails(VDD_GPU_SOC=(5139, 5139, 5139), VDD_CPU_CV=(3268, 3268, 3268),
             VIN_SYS_5V0=(5500, 5500, 5500))},
    # 11 Thor without SWAP/EMC/GR3D, with the VIN input rail
    {"timestamp": "2026-01-20T22:46:22", "ram_used_mb": 17842, "ram_total_mb": 125772,
     "ram_lfb_blocks": 79, "ram_lfb_block_mb": 4,
     **cores((0, 972), (0, 972), (0, 1566), (0, 1566), *[(0, 972)] * 6, (1, 972), *[(0, 972)] * 3),
     **temps(cpu=30.468, tj=31.218, soc012=30.218, soc345=31.218),
     **rails(VDD_GPU=(0, 0), VDD_CPU_SOC_MSS=(5535, 5535), VIN_SYS_5V0=(5040, 5040), VIN=(16802, 16802))},
    # 12 TX2, L4T R27/R28.1 without root: lower-case list, a frequency per core, nothing after it
    {"timestamp": None, "ram_used_mb": 2417, "ram_total_mb": 6660, "ram_lfb_blocks": 620,
     "ram_lfb_block_mb": 4, **cores((1, 1996), (34, 2035), (9, 2035), (1, 1996), (3, 1996), (12, 1996))},
    # 13 the same board with sudo: EMC, GR3D and the discrete GPU (GR3D_PCI)
    {"timestamp": None, "ram_used_mb": 2440, "ram_total_mb": 6660, "ram_lfb_blocks": 620,
     "ram_lfb_block_mb": 4, **cores((0, 1994), (0, 2035), (0, 2035), (0, 1993), (0, 1992), (0, 1996)),
     "emc_load_pct": 0, "emc_freq_mhz": 1600, "gpu_load_pct": 5, "gpu_freq_mhz": 1275,
     "gpu_pci_load_pct": 0, "gpu_pci_freq_mhz": 2607},
    # 14 TX1, L4T R23/R24: one frequency shared by all cores after the list, AVP, VDE, EDP limit
    {"timestamp": None, "ram_used_mb": 748, "ram_total_mb": 3854, "ram_lfb_blocks": 676,
     "ram_lfb_block_mb": 4, "swap_used_mb": 0, "swap_total_mb": 0, "swap_cached_mb": 0,
     **cores((14, 1912), (43, 1912), (11, 1912), (12, 1912)),
     "emc_load_pct": 24, "emc_freq_mhz": 1600, "gpu_load_pct": 52, "gpu_freq_mhz": 998,
     "avp_load_pct": 82, "avp_freq_mhz": 13, "vde_freq_mhz": 0, "edp_limit_mhz": 1912},
]


def test_every_sample_has_an_expectation():
    assert len(EXPECTED) == len(LINES) == 15


@pytest.mark.parametrize("index", range(len(EXPECTED)), ids=[r["device"][:30] for r in RECORDS])
def test_sample_line_parses_to_printed_values(index):
    assert parse_line(LINES[index]) == EXPECTED[index]


def test_lines_parse_identically_with_our_arrival_stamp():
    for line, expected in zip(LINES, EXPECTED):
        row = parse_line("2026-11-26T13:40:01.250+00:00 " + line)
        assert row["timestamp"] == "2026-11-26T13:40:01.250+00:00"
        if expected["timestamp"] is not None:
            # The board's own clock is kept beside ours, not lost.
            assert row.pop("board_timestamp") == expected["timestamp"]
        row["timestamp"] = expected["timestamp"]
        assert row == expected


def test_old_lower_case_cpu_list_with_shared_frequency_and_an_offline_core():
    # The recorded R23/R24 line (14) with its third core taken offline, as hotplug prints it:
    # the shared frequency is not given to the offline core.
    line = LINES[14].replace("11%,12%]", "off,12%]")
    assert parse_line(line) == {**EXPECTED[14], **cores((14, 1912), (43, 1912), "off", (12, 1912))}


@pytest.mark.parametrize(
    "garbage",
    [
        LINES[1][:57],  # cut inside the CPU list
        LINES[1][:-3],  # cut after the `/` of the last rail
        LINES[6][:-2],  # cut inside `mW`
        LINES[1][: LINES[1].index("Tboard@4") + 8],  # cut inside a temperature
        LINES[1][: LINES[1].index(" VDD_IN") + 7],  # cut after a rail's name
        LINES[10][: LINES[10].index("cpu@52.968C/") + 12],  # cut inside a cur/max temperature
        LINES[1][:120] + LINES[2],  # two lines glued, the first one cut
        LINES[1] + LINES[2],  # two whole lines glued without newline
        "Tue Jan 26 15:04:05 EST 2021",  # a `date` header line
        "tegrastats: error: unrecognized option '--intervall'",
        "RAM 2020/7852MB (lfb 1164x4MB) CPU [9%@345,banana]",
    ],
)
def test_garbage_is_rejected(garbage):
    assert parse_line(garbage) is None


def test_parse_log_keeps_order_counts_skips_and_ignores_markers(tmp_path):
    log = tmp_path / "hw.log"
    log.write_text(
        "Tue Jan 26 15:04:05 EST 2021\n"
        f"2026-11-26T13:40:01.000+00:00 {LINES[1]}\n"
        "# restart 2026-11-26T13:40:01.500+00:00\n"
        "\n"
        f"2026-11-26T13:40:02.000+00:00 {LINES[2][:80]}\n"
        f"2026-11-26T13:40:03.000+00:00 {LINES[2]}\n"
    )
    df, skipped = parse_log(log, board="tx2")
    assert skipped == 2
    assert list(df["timestamp"]) == ["2026-11-26T13:40:01.000+00:00", "2026-11-26T13:40:03.000+00:00"]
    with open(log, encoding="utf-8") as lines:
        rows, line_skipped = read_lines(lines)
    assert line_skipped == 2 and [row["timestamp"] for row in rows] == list(df["timestamp"])
    assert list(df["power_vdd_in_mw"]) == [3140, 1840]
    assert list(df["power_total_mw"]) == [3140, 1840]
    # Contract order: timestamp first, then memory, cores, ..., power; total last.
    assert df.columns[0] == "timestamp" and df.columns[-1] == "power_total_mw"


def test_a_line_cut_between_two_fields_is_told_by_its_run(tmp_path):
    # Cut exactly after a temperature: the line alone looks whole, its run says otherwise.
    cut = LINES[2][: LINES[2].index(" VDD_SYS_GPU")]
    assert parse_line(cut) is not None
    stamped = [f"2026-11-26T13:40:0{i}.000+00:00 {line}" for i, line in enumerate([LINES[1], cut, LINES[2], LINES[1]])]
    log = stamped + ["# restart 2026-11-26T13:41:00.000+00:00", LINES[7], LINES[7]]
    df, skipped = parse_log(log)
    assert skipped == 1
    assert list(df["timestamp"])[:3] == [
        "2026-11-26T13:40:00.000+00:00", "2026-11-26T13:40:02.000+00:00", "2026-11-26T13:40:03.000+00:00"
    ]
    assert len(df) == 5  # the run after the restart (no rails, Orin NX) is judged on its own
    rows, line_skipped = read_lines(log)  # the single-line reader judges it alike
    assert line_skipped == 1 and [row["timestamp"] for row in rows] == list(df["timestamp"])


@pytest.mark.parametrize(
    "index, whole, cut",
    [
        (3, "EMC_FREQ 2%@1866", "EMC_FREQ 2%@186"),  # a frequency missing its last digit
        (10, "VIN_SYS_5V0 5500mW/5500mW/5500mW", "VIN_SYS_5V0 5500mW/5500mW"),  # a rail without its max
        (13, "GR3D_PCI 0%@2607", "GR3D_PCI 0%"),  # a load without its frequency
        (14, "GR3D 52%@998 EDP limit 1912", "GR3D 52%@998"),  # the last field, whole, missing
    ],
)
def test_a_line_cut_inside_a_field_that_looks_whole_alone_is_told_by_its_neighbours(index, whole, cut):
    line = LINES[index][: LINES[index].index(whole) + len(cut)]
    assert parse_line(line) is not None  # alone it cannot be told from a whole line
    log = [LINES[index]] * 3 + [line] + [LINES[index]] * 2
    assert parse_log(log)[1] == read_lines(log)[1] == 1


def test_parse_log_of_mixed_boards_fills_absent_fields_with_empty():
    df, skipped = parse_log(LINES)
    assert skipped == 0 and len(df) == len(LINES)
    # The TX1 line has no SWAP: empty there, present elsewhere.
    assert math.isnan(df.loc[0, "swap_total_mb"]) and df.loc[2, "swap_total_mb"] == 3929
    assert df["cpu13_load_pct"].notna().sum() == 2  # only the two Thor lines have 14 cores


def test_log_without_rails_has_no_total_power():
    df, skipped = parse_log([LINES[7]], board="orin_nx")
    assert skipped == 0
    assert "power_total_mw" not in df.columns
    assert df.attrs["power_total"] is None


def test_cli_writes_csv_and_reports_skips(tmp_path, capsys):
    log = tmp_path / "tegrastats.log"
    log.write_text(f"{LINES[1]}\ngarbage line\n{LINES[2]}\n")
    out = tmp_path / "out" / "hw.csv"
    code = cli([str(log), "-o", str(out), "--profile", "tx2", "--power-method", "thesis_sum"])
    assert code == 0
    err = capsys.readouterr().err
    assert "2 samples parsed, 1 lines skipped" in err and "thesis_sum" in err
    df = pd.read_csv(out)
    assert len(df) == 2
    # The thesis's six-rail sum, named as such: 153+536+633+3140+536+557 for the first line.
    assert list(df["power_thesis_sum_mw"]) == [5555, 2951]
    assert list(df["power_total_mw"]) == [5555, 2951]
    assert not list(out.parent.glob(".*tmp"))  # written via a temporary name, nothing left over


def test_cli_missing_log_and_unknown_profile(tmp_path, capsys):
    assert cli([str(tmp_path / "none.log")]) == 2
    assert "no such file" in capsys.readouterr().err
    log = tmp_path / "t.log"
    log.write_text(LINES[1] + "\n")
    assert cli([str(log), "--profile", "tx9"]) == 2
    assert "'tx9' not found" in capsys.readouterr().err


def test_cli_through_edgebench_dispatcher(tmp_path):
    log = tmp_path / "t.log"
    log.write_text(LINES[11] + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "edgebench", "parse-tegrastats", str(log), "--profile", "thor"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1],
    )
    header, row = result.stdout.splitlines()[:2]
    assert dict(zip(header.split(","), row.split(",")))["power_total_mw"] == "16802"


# --- parse_log's learnt layouts give what the general parser gives -------------------------

VALUE_RE = re.compile(r"(?<![A-Za-z_\d])-?\d+(?:\.\d+)?")  # numbers that are values, not in names


def variants(line, count, rng):
    """Return count copies of line with every value redrawn (decimals kept decimal)."""
    def redraw(m):
        text = m.group()
        if m.string[m.end(): m.end() + 1] == "C" and rng.random() < 0.1:
            return "-256"  # a temperature sensor switching off now and then
        if "." in text:
            return f"{rng.uniform(0, 100):.{len(text.split('.')[1])}f}"
        return str(rng.randint(0, 5000))

    stamp, body = (line[:20], line[20:]) if line[:1].isdigit() else ("", line)  # keep the board's date
    return [stamp + VALUE_RE.sub(redraw, body) for _ in range(count)]


def general_frame(lines):
    rows = [row for row in map(parse_line, lines) if row is not None]
    return numeric_columns(pd.DataFrame.from_records(rows))


def test_layouts_and_general_parser_agree_on_varied_logs():
    rng = random.Random(7)
    lines = []
    for i in range(40):  # runs of one board's lines, boards interleaved, values redrawn
        run = variants(LINES[rng.randrange(len(LINES))], rng.randint(1, 30), rng)
        if i % 2:  # half the runs as the runner writes them, with our arrival stamp first
            run = [f"2026-11-26T13:{i:02d}:{k % 60:02d}.{k:03d}+00:00 {line}" for k, line in enumerate(run)]
        lines += run
        lines.append(f"# restart 2026-11-26T13:{i:02d}:00.000+00:00")  # one format per run
    fast, skipped = parse_log(lines)
    expected = general_frame(lines)
    assert skipped == 0
    pd.testing.assert_frame_equal(fast.drop(columns="power_total_mw"), expected)


def test_layouts_agree_with_off_cores_stamps_and_markers():
    rng = random.Random(3)
    base = LINES[5]  # AGX Xavier, four cores off
    lines = [f"2026-11-26T13:40:{i % 60:02d}.000+00:00 {v}" for i, v in enumerate(variants(base, 50, rng))]
    lines.insert(20, "# restart 2026-11-26T13:41:00.000+00:00")
    lines.insert(30, lines[29].replace("off,off", "5%@1190,off"))  # a core comes back online
    fast, skipped = parse_log(lines)
    assert skipped == 0
    pd.testing.assert_frame_equal(fast.drop(columns="power_total_mw"), general_frame(lines))
    assert fast["cpu4_load_pct"].notna().sum() == 1


def test_layouts_are_learnt_once_not_per_line(monkeypatch):
    calls = []
    general = tegrastats_fast.parse_body
    monkeypatch.setattr(tegrastats_fast, "parse_body", lambda *a: calls.append(1) or general(*a))
    lines = variants(LINES[1], 2000, random.Random(1))
    df, skipped = parse_log(lines)
    assert len(df) == 2000 and skipped == 0
    # One general parse per learnt layout and one per number probed in it, not one per line.
    assert len(calls) < 200


def test_rows_read_in_blocks_keep_their_order(monkeypatch):
    monkeypatch.setattr(tegrastats_blocks, "BLOCK_LINES", 7)
    rng = random.Random(5)
    # two layouts of one TX2 (with and without SWAP) interleaved across block boundaries
    lines = variants(LINES[1], 30, rng) + variants(LINES[2], 9, rng) + variants(LINES[1], 20, rng)
    fast, skipped = parse_log(lines)
    assert skipped == 0
    pd.testing.assert_frame_equal(fast.drop(columns="power_total_mw"), general_frame(lines))


def awkward_log(rng):
    """Return lines that exercise the block reader: layout changes, odd lines, odd numbers."""
    def stamped(lines, minute):
        return [f"2026-11-26T13:{minute:02d}:{k % 60:02d}.{k:03d}+00:00 {line}" for k, line in enumerate(lines)]

    tx2 = stamped(variants(LINES[1], 25, rng), 0)
    tx2[5] = tx2[5][:90]  # garbage: cut inside the CPU list
    tx2[9] = re.sub(r"RAM \d+", "RAM 123456789", tx2[9])  # longer than the fast path reads
    tx2[14] = "  " + tx2[14] + "\t"  # blanks around a line
    tx2[17] = tx2[17].replace("VDD_4V0_WIFI", "VDD_5V0_WIFI")  # same skeleton, another rail
    tx2[21] = "2" + tx2[21]  # same skeleton, but a 5-digit year is no stamp: garbage
    lines = tx2 + stamped(variants(LINES[2], 8, rng), 1)  # another layout (SWAP) mid-block
    lines += ["", "   ", "# stderr 2026-11-26T13:01:30.000+00:00 tegrastats: warning"]
    lines += stamped(variants(LINES[1], 12, rng), 2)
    lines += ["# restart 2026-11-26T13:03:00.000+00:00"]
    lines += stamped(variants(LINES[5], 15, rng), 3)  # AGX Xavier: cores off
    lines += ["# restart 2026-11-26T13:04:00.000+00:00"]
    lines += variants(LINES[6], 6, rng) + stamped(variants(LINES[6], 6, rng), 4)  # board's own stamp
    return lines


def count_fast_rows(monkeypatch):
    """Return a list that gets the number of rows of each block read by the fast path."""
    counts = []
    columns_of = tegrastats_fast._Form.columns_of
    def counted(form, block, lines):
        counts.append(len(lines))
        return columns_of(form, block, lines)

    monkeypatch.setattr(tegrastats_fast._Form, "columns_of", counted)
    return counts


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("block_bytes", [1 << 20, 1000])
def test_fast_path_and_general_parser_agree_across_blocks(tmp_path, monkeypatch, block_bytes, newline):
    # A 1000-byte block holds one or two lines, so lines start and end at every position
    # relative to a block's edges, and some lines are longer than a block.
    monkeypatch.setattr(tegrastats_blocks, "BLOCK_BYTES", block_bytes)
    lines = awkward_log(random.Random(block_bytes + len(newline)))
    log = tmp_path / "hw.log"
    log.write_bytes(newline.join(lines).encode() + b"\n")
    fast_rows = count_fast_rows(monkeypatch)
    fast, skipped = parse_log(log, board="tx2")
    monkeypatch.setattr(tegrastats_fast, "MAX_LAYOUTS", 0)  # nothing learnt: every line parsed by name
    general, general_skipped = parse_log(log, board="tx2")
    pd.testing.assert_frame_equal(fast, general, check_exact=True)
    assert skipped == general_skipped == 2  # the cut line, the line with a 5-digit year
    assert sum(fast_rows) > 0.9 * len(fast)  # else this compared the general parser with itself
    assert fast["ram_used_mb"].max() == 123456789
    assert fast["power_vdd_5v0_wifi_mw"].notna().sum() == 1
    assert fast["timestamp"].iloc[-7] == "2024-11-15T08:38:09"  # the board's stamp alone


def test_fast_path_and_general_parser_agree_on_lines_in_small_blocks(monkeypatch):
    monkeypatch.setattr(tegrastats_blocks, "BLOCK_LINES", 3)
    lines = awkward_log(random.Random(2))
    lines.insert(20, LINES[1] + "\n" + LINES[2])  # an item holding two lines is one odd line
    fast_rows = count_fast_rows(monkeypatch)
    fast, skipped = parse_log(lines)
    monkeypatch.setattr(tegrastats_fast, "MAX_LAYOUTS", 0)
    general, general_skipped = parse_log(lines)
    pd.testing.assert_frame_equal(fast, general, check_exact=True)
    assert skipped == general_skipped == 3
    assert sum(fast_rows) > 0.9 * len(fast)


# --- lines cut off: both readers skip the same lines, and count them --------------------------

# TX2 (R32), AGX Xavier, Orin Nano (the board's own stamp), Thor, AGX Orin (JP7.2: three-value
# rails), TX2 L4T R27/R28.1 without and with root, TX1 R23/R24.
CUT_BOARDS = [1, 5, 6, 9, 10, 12, 13, 14]
WHOLE_PER_CUT = 5


def same_shape(line, rng):
    """Return line with every value's digits redrawn, each number as long as before."""
    def redraw(m):
        return re.sub(r"\d", lambda _: str(rng.randrange(10)), m.group())

    stamp, body = (line[:20], line[20:]) if line[:1].isdigit() else ("", line)  # keep the board's date
    return stamp + VALUE_RE.sub(redraw, body)


def cut_log(rng):
    """Return (lines, stamps of the whole lines, stamps of the cut lines no reader can tell, cut lines).

    The experiment of a log with cut lines, at every position rather than at random ones: per
    board a run of lines (values redrawn, lengths kept), every sixth one cut off, the n-th cut
    after its n-th character, so that the cuts fall at every position of the line in turn:
    inside our stamp, a name, a number, a unit, after `@` or `/`, inside the CPU list, between
    two fields. Only a cut inside the digits the line ends with leaves a line no reader can
    tell from a whole one (`VDD_SYS_DDR 557/60` for `557/601`).
    """
    lines, whole, undetectable, cut_lines = [], set(), set(), []
    count = 0
    bodies = {index: [same_shape(LINES[index], rng) for _ in range(40)] for index in CUT_BOARDS}

    def stamped(index):
        """Return (stamp, line): a line of this board, values redrawn, our stamp unique to it."""
        nonlocal count
        count += 1
        stamp = f"2026-11-26T{count // 3600 % 24:02d}:{count // 60 % 60:02d}:{count % 60:02d}.000+00:00"
        return stamp, f"{stamp} {rng.choice(bodies[index])}"

    # First a few whole lines of each board: their layouts are learnt before the cut lines',
    # every one a layout of its own, reach MAX_LAYOUTS.
    for index in CUT_BOARDS:
        lines.append("# restart 2026-11-26T22:00:00.000+00:00")
        for _ in range(MIN_RUN_LINES):
            stamp, line = stamped(index)
            lines.append(line)
            whole.add(stamp)
    for minute, index in enumerate(CUT_BOARDS):
        lines.append(f"# restart 2026-11-26T23:{minute:02d}:00.000+00:00")  # one board per run
        length = len(stamped(index)[1])
        for position in range(1, length):
            for _ in range(WHOLE_PER_CUT):
                stamp, line = stamped(index)
                lines.append(line)
                whole.add(stamp)
            stamp, line = stamped(index)
            last_digits = list(re.finditer(r"\d+", line))[-1]
            if last_digits.end() == len(line) and last_digits.start() < position:
                undetectable.add(stamp)
            lines.append(line[:position])
            cut_lines.append(line[:position])
    return lines, whole, undetectable, cut_lines


def test_both_readers_skip_the_same_cut_lines_and_count_them(monkeypatch):
    lines, whole, undetectable, cut_lines = cut_log(random.Random(11))
    fast_rows = count_fast_rows(monkeypatch)
    fast, fast_skipped = parse_log(lines)
    rows, line_skipped = read_lines(lines)
    # Every cut line skipped and counted, by both, but those cut inside the digits they end with.
    assert fast_skipped == line_skipped == len(cut_lines) - len(undetectable)
    assert set(fast["timestamp"]) == whole | undetectable and len(fast) == len(whole) + len(undetectable)
    pd.testing.assert_frame_equal(fast.drop(columns="power_total_mw"), frame_of(rows), check_exact=True)
    # The fast path read the whole lines, not the general parser (but Thor's and JetPack 7's:
    # a frequency that is the highest of a per-GPC array, `@[1300,1300]`, is left to it).
    readable = [line for line in lines if line[:1].isdigit() and not re.search(r"@\[\d+,", line)]
    assert sum(fast_rows) > 0.9 * (len(readable) - len(cut_lines))
    # Alone, many more look whole (cut between two fields, or inside the digits ending a field
    # such as `EMC_FREQ 42%@186`): only their neighbours tell them.
    assert sum(parse_line(line) is not None for line in cut_lines) > 3 * len(undetectable)
    assert 0 < len(undetectable) < 0.05 * len(cut_lines)


def frame_of(rows):
    return numeric_columns(pd.DataFrame.from_records(rows))


CPU_LIST_END = LINES[1][: LINES[1].index("]") + 1]  # a real line up to the end of its CPU list


@pytest.mark.parametrize(
    "end, ending",
    [
        ("", ("cpu", "CPU", False)),  # L4T R27/R28.1 without root
        (" VDD_IN 3140/3208", ("rail", "VDD_IN", 1)),
        (" VIN_SYS_5V0 5500mW/5500mW/5500mW", ("rail", "VIN_SYS_5V0", 2)),
        (" thermal@41.9C", ("temp", "thermal", 0)),
        (" cpu@52.968C/52.968C", ("temp", "cpu", 1)),
        (" GR3D_FREQ 0%@[621]", ("clock", "GR3D_FREQ", True)),
        (" GR3D_FREQ 0%", ("clock", "GR3D_FREQ", False)),
        (" NVDEC off", ("clock", "NVDEC", False)),
        (" APE 150", ("clock", "APE", False)),
        (" MTS fg 0% bg 0%", ("mts", "MTS", 2)),
        (" EDP limit 1734", ("edp", "EDP", 1)),
        # ends inside a field: not whole, whatever its neighbours
        (" VDD_IN 3140/", None), (" VDD_IN", None), (" VIN_SYS_5V0 5500mW/55", None),
        (" thermal@41", None), (" cpu@52.968C/", None), (" GR3D_FREQ 0%@", None),
        (" GR3D_FREQ 0%@[62", None), (" NVDEC of", None), (" MTS fg 0% bg", None),
        (" MTS fg 0% bg 0", None), (" EDP limit", None),
    ],
)
def test_the_last_field_of_a_line_alone(end, ending):
    assert line_ending(CPU_LIST_END + end) == ending
    assert (parse_line(CPU_LIST_END + end) is None) is (ending is None)


def test_the_last_field_of_every_recorded_line_is_whole():
    # Each recorded line ends in a field the judgement knows: none is taken for cut off.
    endings = [line_ending(line[20:] if line[:1].isdigit() else line) for line in LINES]
    assert None not in endings
    assert {kind for kind, _, _ in endings} == {"rail", "temp", "cpu", "clock", "edp"}
