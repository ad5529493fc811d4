"""Energy from a power trace: known integrals, real timestamps, window edges, thesis_sum vs total,
coverage of the training windows, energy counters."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edgebench.monitor.energy import energy_summary, energy_wh, mean_power_w
from edgebench.monitor.tegrastats import parse_log
from edgebench.train.energy import summarise

SAMPLES = Path(__file__).parent / "fakes" / "tegrastats_samples.jsonl"
LINES = [json.loads(line)["line"] for line in SAMPLES.read_text().splitlines() if line.strip()]
T0 = pd.Timestamp("2026-11-26T12:00:00+00:00")


def trace(seconds, power_mw):
    """Return an hw DataFrame with ISO timestamps at T0 + seconds."""
    stamps = [(T0 + pd.Timedelta(seconds=float(s))).isoformat() for s in seconds]
    return pd.DataFrame({"timestamp": stamps, "power_total_mw": power_mw})


def at(seconds):
    return T0 + pd.Timedelta(seconds=seconds)


def test_linear_trace_integrates_exactly_with_interpolated_edges():
    seconds = np.arange(0, 101)
    hw = trace(seconds, 1000.0 + 100.0 * seconds)  # P(t) = 1 W + 0.1 W/s * t
    a, b = 10.5, 50.25  # edges between samples
    exact_mws = 1000.0 * (b - a) + 50.0 * (b**2 - a**2)
    result = energy_summary(hw, at(a), at(b))
    assert result["energy_wh_integrated"] == pytest.approx(exact_mws / 3.6e6, rel=1e-12)
    assert result["covered_s"] == pytest.approx(b - a) and result["coverage"] == pytest.approx(1.0)
    # avg power: plain mean of the readings at t = 11..50 (the thesis's method)
    assert result["samples"] == 40
    assert result["avg_power_w"] == pytest.approx((1000 + 100 * 30.5) / 1000)
    assert result["energy_wh"] == pytest.approx(result["avg_power_w"] * (b - a) / 3600)
    assert result["reason"] is None


def test_irregular_sampling_uses_real_timestamps():
    # 4 W for 1 s, then 1 W for 9 s, sampled unevenly: an index-based integral would be wrong.
    seconds = [0.0, 1.0, 1.0 + 1e-6, 4.0, 10.0]
    hw = trace(seconds, [4000.0, 4000.0, 1000.0, 1000.0, 1000.0])
    result = energy_summary(hw, at(0), at(10))
    assert result["energy_wh_integrated"] == pytest.approx((4 * 1 + 1 * 9) / 3600, rel=1e-5)


def test_window_longer_than_trace_is_clipped_and_reported():
    hw = trace([5, 6, 7], [2000.0, 2000.0, 2000.0])
    result = energy_summary(hw, at(0), at(20))
    assert result["covered_s"] == pytest.approx(2.0)
    assert result["coverage"] == pytest.approx(0.1)
    assert result["energy_wh_integrated"] == pytest.approx(2 * 2 / 3600)
    assert result["energy_wh"] == pytest.approx(2 * 20 / 3600)  # thesis method: mean power * training time


def test_unsorted_rows_and_empty_values_are_handled():
    hw = trace([2, 0, 1, 3], [1000.0, 1000.0, None, 1000.0])
    result = energy_summary(hw, at(0), at(3))
    assert result["energy_wh_integrated"] == pytest.approx(3 / 3600)
    assert result["samples"] == 3


def test_idle_baseline_gives_dynamic_power_and_energy():
    hw = trace(np.arange(0, 21), [1500.0] * 10 + [4500.0] * 11)
    idle = mean_power_w(hw, at(0), at(9))
    assert idle == pytest.approx(1.5)
    result = energy_summary(hw, at(10), at(20), idle_power_w=idle)
    assert result["dynamic_power_w"] == pytest.approx(3.0)
    assert result["dynamic_energy_wh_integrated"] == pytest.approx(3.0 * 10 / 3600)


@pytest.mark.parametrize(
    "hw, reason",
    [
        (pd.DataFrame({"timestamp": ["2026-11-26T12:00:00+00:00"], "cpu0_load_pct": [5]}), "no power_total_mw"),
        (trace([0], [1000.0]), "1 timed power sample"),
        (trace([100, 101], [1000.0, 1000.0]), "no power samples overlap"),
        (pd.DataFrame({"timestamp": ["2026-11-26T12:00:00", "2026-11-26T12:00:01"],
                       "power_total_mw": [1.0, 1.0]}), "time zone"),
    ],
)
def test_no_usable_power_gives_none_and_a_reason(hw, reason):
    result = energy_summary(hw, at(0), at(10))
    assert result["energy_wh_integrated"] is None and result["energy_wh"] is None
    assert result["avg_power_w"] is None
    assert reason in result["reason"]


def test_reversed_window_is_an_error():
    with pytest.raises(ValueError, match="before it starts"):
        energy_summary(trace([0, 1], [1.0, 1.0]), at(5), at(1))


def test_energy_wh_thesis_method():
    assert energy_wh(6.0, 1800) == pytest.approx(3.0)
    assert energy_wh(None, 1800) is None


def test_tx2_thesis_sum_counts_branches_twice_against_vdd_in():
    # Ten TX2 samples (two real lines alternating) stamped one second apart.
    stamped = [f"{at(i).isoformat()} {LINES[1] if i % 2 == 0 else LINES[2]}" for i in range(10)]
    total, _ = parse_log(stamped, board="tx2")
    thesis, _ = parse_log(stamped, board="tx2", power_method="thesis_sum")
    e_total = energy_summary(total, at(0), at(9))
    e_thesis = energy_summary(thesis, at(0), at(9))
    # trapezoids over 9 one-second intervals between alternating values a and b: 9 * (a + b) / 2
    assert e_total["energy_wh_integrated"] == pytest.approx(9 * (3140 + 1840) / 2 / 3.6e6)
    assert e_thesis["energy_wh_integrated"] == pytest.approx(9 * (5555 + 2951) / 2 / 3.6e6)
    assert e_total["avg_power_w"] == pytest.approx((3140 + 1840) / 2 / 1000)
    assert e_thesis["energy_wh_integrated"] / e_total["energy_wh_integrated"] == pytest.approx(8506 / 4980)


# --- coverage: what the trace does not cover is not counted, and says so --------------------


def epochs_frame(windows):
    """Return epochs.csv rows for (start s, end s) windows after T0."""
    return pd.DataFrame({"started_at": [at(a).isoformat() for a, _ in windows],
                         "ended_at": [at(b).isoformat() for _, b in windows]})


def test_a_trace_covering_62_5_percent_reports_that_coverage_not_a_silently_low_energy():
    # Two 100 s epochs at a steady 2 W (0.111 Wh in all); the monitor's trace stops at 125 s.
    hw = trace(np.arange(0, 126), [2000.0] * 126)
    block = summarise(hw, epochs_frame([(0, 100), (100, 200)]), 200.0, interval_s=1.0)
    assert block["coverage"] == pytest.approx(0.625)
    assert block["energy_wh_integrated"] == pytest.approx(2 * 125 / 3600)  # 0.069 Wh: the covered part only
    assert block["energy_wh"] == pytest.approx(2 * 200 / 3600)  # thesis method: mean power x training time
    assert block["method"] == "trapezoid" and block["reason"] is None


def test_an_epoch_the_trace_missed_entirely_counts_as_not_covered():
    hw = trace(np.arange(0, 51), [3000.0] * 51)
    block = summarise(hw, epochs_frame([(0, 50), (60, 110)]), 100.0, interval_s=1.0)
    assert block["coverage"] == pytest.approx(0.5)
    assert block["energy_wh_integrated"] == pytest.approx(3 * 50 / 3600)


def test_a_hole_in_the_trace_is_not_covered_when_the_interval_is_known():
    # Samples every second, none from 20 s to 30 s (a stalled monitor), at 1 W before, 5 W after.
    seconds = [s for s in range(0, 41) if not 20 < s < 30]
    hw = trace(seconds, [1000.0 if s <= 20 else 5000.0 for s in seconds])
    known = energy_summary(hw, at(0), at(40), interval_s=1.0)
    assert known["covered_s"] == pytest.approx(30.0) and known["coverage"] == pytest.approx(0.75)
    assert known["energy_wh_integrated"] == pytest.approx((1 * 20 + 5 * 10) / 3600)
    # Without the interval the hole is bridged by a straight line, as a trace of 10 s samples would be.
    bridged = energy_summary(hw, at(0), at(40))
    assert bridged["coverage"] == pytest.approx(1.0)
    assert bridged["energy_wh_integrated"] == pytest.approx((1 * 20 + 3 * 10 + 5 * 10) / 3600)


def test_a_fast_samplers_short_stall_is_bridged_a_long_one_is_a_hole():
    # 50 Hz (the direct rails), held back 0.2 s once (a loaded board) and stalled 1 s once: the
    # first is a few missed ticks (MIN_HOLE_S), the second a stretch whose power is not known.
    seconds = [round(k * 0.02, 2) for k in range(0, 501) if not (1.0 < k * 0.02 < 1.2 or 5.0 < k * 0.02 < 6.0)]
    result = energy_summary(trace(seconds, [2000.0] * len(seconds)), at(0), at(10), interval_s=0.02)
    assert result["covered_s"] == pytest.approx(9.0) and result["energy_wh_integrated"] == pytest.approx(2 * 9 / 3600)


def counter_trace(seconds, energy_uj, power_mw):
    hw = trace(seconds, power_mw)
    hw["energy_total_uj"] = energy_uj
    return hw


def test_counters_give_the_energy_and_are_never_differenced_across_a_restart():
    # 10 W from 0 to 5 s; the sampler restarts (its unwrapped counter starts again lower) and
    # reads 20 W from 8 s to 12 s. The window [1, 11] has 4 s + 3 s of trace.
    seconds = [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12]
    energy = [0, 10e6, 20e6, 30e6, 40e6, 50e6, 1e6, 21e6, 41e6, 61e6, 81e6]
    power = [None, 1e4, 1e4, 1e4, 1e4, 1e4, None, 2e4, 2e4, 2e4, 2e4]
    result = energy_summary(counter_trace(seconds, energy, power), at(1), at(11), interval_s=1.0)
    assert result["method"] == "counter"
    assert result["covered_s"] == pytest.approx(7.0) and result["coverage"] == pytest.approx(0.7)
    assert result["energy_wh_integrated"] == pytest.approx((10 * 4 + 20 * 3) / 3600)


def test_counters_span_a_hole_exactly():
    # The counter keeps counting while the sampler stalls: a hole costs nothing.
    seconds = [0, 1, 2, 12, 13]
    hw = counter_trace(seconds, [0, 2e6, 4e6, 84e6, 86e6], [None, 2e3, 2e3, 8e3, 2e3])
    result = energy_summary(hw, at(0.5), at(12.5), interval_s=1.0)
    assert result["coverage"] == pytest.approx(1.0)
    assert result["energy_wh_integrated"] == pytest.approx((1 + 2 + 80 + 1) / 3600)
