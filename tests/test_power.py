"""Total power per board: board descriptions, the rule by rail name, thesis_sum, estimates."""

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from edgebench.hwconfig.boards import BOARDS_DIR, load_board
from edgebench.monitor.power import add_total_power, total_is_estimate, total_power_spec
from edgebench.monitor.tegrastats import parse_log

SAMPLES = Path(__file__).parent / "fakes" / "tegrastats_samples.jsonl"
LINES = [json.loads(line)["line"] for line in SAMPLES.read_text().splitlines() if line.strip()]
BOARDS = ["tx1", "tx2", "nano", "xavier_nx", "agx_xavier", "orin_nx", "orin_nano", "agx_orin", "thor"]

# (sample line, board, expected power_total_mw, is_estimate): the sums written out by hand.
TOTALS = [
    (0, "tx1", 2532, False),  # VDD_IN
    (1, "tx2", 3140, False),  # VDD_IN, not the six-rail sum
    (3, "tx2", 14025, False),  # L4T 32.1 rail names: VDD_IN still the total
    (4, "nano", 4520, False),  # POM_5V_IN
    (5, "agx_xavier", 466 + 466 + 932 + 0 + 0 + 1854, True),
    (6, "orin_nano", 12479, False),
    (8, "agx_orin", 2399 + 400 + 4032, True),  # VDDQ_VDD2_1V8AO and NC left out
    (10, "agx_orin", 5139 + 3268 + 5500, True),
    (9, "thor", 0 + 4165 + 4126, True),  # no VIN printed: three-rail estimate
    (11, "thor", 16802, False),  # VIN
]


@pytest.mark.parametrize("board", BOARDS)
def test_boards_load_and_name_their_total_among_their_rails(board):
    description = load_board(board)
    assert description["name"] == board and description["monitor"] == "tegrastats" and description["gpu"] == "cuda"
    power = description["power"]
    assert set(power["total_rails"]) <= set(power["rails"])
    assert all(isinstance(core, int) for group in description["cores"].values() for core in group)


def test_tx2_board_matches_the_thesis_board():
    board = load_board("tx2")
    assert board["cores"] == {"a57": [0, 3, 4, 5], "denver": [1, 2]}
    assert board["power"]["total_rails"] == ["VDD_IN"]
    assert len(board["power"]["thesis_sum_rails"]) == 6


def test_load_board_by_path_and_unknown_name(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\npower: {total_rails: [VDD_IN]}\n")
    assert load_board(path)["name"] == "mine"
    with pytest.raises(FileNotFoundError, match="'tx9' not found.*tx2"):
        load_board("tx9")
    (tmp_path / "bad.yaml").write_text("- just a list\n")
    with pytest.raises(ValueError, match="bad.yaml"):
        load_board(tmp_path / "bad.yaml")


@pytest.mark.parametrize("index, board, total, estimate", TOTALS)
def test_total_power_per_board(index, board, total, estimate):
    df, _ = parse_log([LINES[index]], board=board)
    assert df.loc[0, "power_total_mw"] == total
    assert total_is_estimate(df) is estimate


@pytest.mark.parametrize("index, board, total, estimate", TOTALS)
def test_unknown_board_gets_the_same_total_by_rail_name(index, board, total, estimate):
    # AGX Orin is the exception: without a board every printed rail is summed,
    # VDDQ_VDD2_1V8AO included; the rule by name knows no better.
    if index == 8:
        total += 301
    df, _ = parse_log([LINES[index]], board=None)
    assert df.loc[0, "power_total_mw"] == total
    assert total_is_estimate(df) is estimate


def test_thesis_sum_is_the_six_rails_on_tx2_and_all_rails_elsewhere():
    df, _ = parse_log([LINES[1]], board="tx2", power_method="thesis_sum")
    assert df.loc[0, "power_thesis_sum_mw"] == 153 + 536 + 633 + 3140 + 536 + 557
    assert df.attrs["power_total"]["method"] == "thesis_sum"
    df, _ = parse_log([LINES[4]], board="nano", power_method="thesis_sum")
    assert df.loc[0, "power_total_mw"] == 4520 + 0 + 1078


def test_a_missing_rail_gives_an_empty_total_not_a_partial_sum():
    df = pd.DataFrame({"power_gpu_soc_mw": [1.0, 2.0], "power_cpu_cv_mw": [3.0, None]})
    board = {"name": "x", "power": {"total_rails": ["GPU_SOC", "CPU_CV"], "total_is_estimate": True}}
    out = add_total_power(df, board)
    assert out.loc[0, "power_total_mw"] == 4.0 and math.isnan(out.loc[1, "power_total_mw"])
    assert "power_total_mw" not in df.columns  # the input frame is left as it was


def test_averages_and_host_readers_are_not_taken_for_rails():
    columns = ["power_vdd_in_mw", "power_vdd_in_avg_mw", "power_rapl_package_0_mw", "power_gpu0_mw"]
    spec = total_power_spec(columns)
    assert spec["columns"] == ["power_vdd_in_mw"]


def test_host_total_sums_packages_dram_and_gpus_but_not_overlapping_domains():
    df = pd.DataFrame({
        "power_rapl_package_0_mw": [10_000.0], "power_rapl_core_mw": [6_000.0],
        "power_rapl_dram_mw": [2_000.0], "power_rapl_psys_mw": [20_000.0], "power_gpu0_mw": [50_000.0],
    })
    out = add_total_power(df, None)
    assert out.loc[0, "power_total_mw"] == 62_000.0
    assert total_is_estimate(out) is True


def test_host_total_energy_sums_the_counters_of_the_same_domains_in_microjoules():
    df = pd.DataFrame({
        "power_rapl_package_0_mw": [10_000.0, 10_000.0], "energy_rapl_package_0_uj": [5_000_000, 15_000_000],
        "power_rapl_core_mw": [6_000.0, 6_000.0], "energy_rapl_core_uj": [1_000_000, 7_000_000],  # inside the package
        "power_gpu0_mw": [50_000.0, 50_000.0], "energy_gpu0_mj": [900_000, 950_000],  # NVML counts millijoules
    })
    out = add_total_power(df, None)
    assert out["energy_total_uj"].tolist() == [905_000_000.0, 965_000_000.0]  # package + GPU, not the core
    assert out.attrs["power_total"]["energy_columns"] == ["energy_rapl_package_0_uj", "energy_gpu0_mj"]


def test_no_total_energy_where_one_domain_of_the_total_has_no_counter():
    # A GPU older than Volta: NVML has its power but no energy counter. Half a counter total
    # would be wrong; the energy then comes from the power trace.
    df = pd.DataFrame({"power_rapl_package_0_mw": [10_000.0], "energy_rapl_package_0_uj": [5_000_000],
                       "power_gpu0_mw": [50_000.0]})
    out = add_total_power(df, None)
    assert "energy_total_uj" not in out.columns and "energy_columns" not in out.attrs["power_total"]
    stamped = [f"2026-11-26T12:00:0{i}+00:00 {LINES[1]}" for i in range(2)]
    tegrastats, _ = parse_log(stamped, board="tx2")
    assert "energy_total_uj" not in tegrastats.columns  # tegrastats rails have no counters


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="power method 'max'"):
        total_power_spec(["power_vdd_in_mw"], None, "max")


def test_every_profile_file_is_listed_here():
    owned = {p.stem for p in BOARDS_DIR.glob("*.yaml")} - {"demo", "host"}
    assert owned == set(BOARDS)
