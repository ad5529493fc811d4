"""Efficiency columns: samples/s, J/sample and GFLOP/s from synthetic runs with known figures; the
FLOP count and the GEMM peak run for real in the PyTorch interpreter."""

import json
import subprocess

import pandas as pd
import pytest

from edgebench.analysis.table import build_table, table_markdown
from edgebench.interpreters import board_environment
from tests.conftest import board_python
from tests.test_targets import make_run

FLOPS = {"models": {"lenet@32": {"forward_flops_per_sample": 1e6, "training_flops_per_sample": 3e6}}, "reason": None}
PEAK = {"hwcfg": "cpu_cfg1", "host": "board1", "gflops_per_s": 50.0, "reason": None}


def with_samples(run_json, train_samples=40, input_size=32):
    summary = json.loads(run_json.read_text())
    summary.update(samples_per_epoch={"train": train_samples, "val": 10}, input_size=input_size)
    run_json.write_text(json.dumps(summary))
    return run_json


def test_samples_per_second_joules_per_sample_and_the_share_of_the_peak(tmp_path):
    # 3 epochs of 10 s, of which 8 s training: 120 samples in 24 s at 2 W (48 J).
    run = with_samples(make_run(tmp_path, "pytorch", [0.1, 0.2, 0.3]))
    row = build_table([run], flops=FLOPS, peak=PEAK).iloc[0]
    assert row["train_samples_per_s"] == pytest.approx(5.0)
    assert row["joules_per_sample"] == pytest.approx(48 / 120, rel=1e-6)
    assert row["training_flops_per_sample"] == 3e6
    assert row["achieved_gflops_per_s"] == pytest.approx(0.015)
    assert row["peak_fraction"] == pytest.approx(0.015 / 50) and pd.isna(row["efficiency_note"])
    efficiency = table_markdown(build_table([run], flops=FLOPS, peak=PEAK)).split("Efficiency")[1]
    assert " 0.015 |" in efficiency and " 0.03 |" in efficiency  # GFLOP/s, and per cent of the peak


def test_what_is_missing_is_said(tmp_path):
    run = with_samples(make_run(tmp_path, "pytorch", [0.1, 0.2], power_w=None), input_size=64)
    row = build_table([run], flops=FLOPS, peak={**PEAK, "gflops_per_s": None, "reason": "hwconfigs.x: no GPU"}).iloc[0]
    assert row["train_samples_per_s"] == pytest.approx(5.0) and pd.isna(row["joules_per_sample"])
    assert pd.isna(row["achieved_gflops_per_s"]) and pd.isna(row["peak_fraction"])
    assert row["efficiency_note"] == ("no FLOP count for lenet@64: not in results/flops.json; "
                                      "no peak for this configuration: hwconfigs.x: no GPU")
    other_board = build_table([with_samples(run, input_size=32)], flops=FLOPS, peak={**PEAK, "host": "board2"}).iloc[0]
    assert pd.isna(other_board["peak_fraction"]) and "measured on board2, the runs on board1" in \
        other_board["efficiency_note"]


def test_the_flop_count_and_the_peak_run_in_the_pytorch_interpreter(tmp_path):
    python = board_python("pytorch")
    flops, peak = tmp_path / "flops.json", tmp_path / "peak.json"
    subprocess.run([python, "-m", "edgebench.models.flops", "--num-classes", "10", "--out", str(flops),
                    "lenet:32", "vgg16:224"], check=True, env=board_environment(), timeout=300)
    counts = json.loads(flops.read_text())["models"]
    # VGG-16 at 224 px is the textbook 15.5 G multiply-adds forward; training about three times that.
    assert counts["vgg16@224"]["forward_flops_per_sample"] == pytest.approx(30.9e9, rel=0.01)
    assert 2.5 < counts["vgg16@224"]["training_flops_per_sample"] / counts["vgg16@224"]["forward_flops_per_sample"] < 3
    assert counts["lenet@32"]["forward_flops_per_sample"] == pytest.approx(1.30e6, rel=0.01)
    subprocess.run([python, "-m", "edgebench.train.peak", "--board", "demo", "--hwcfg", "cpu_cfg1",
                    "--hwconfig", '{"cores": ["core0"]}', "--out", str(peak)], check=True, env=board_environment(),
                   timeout=300)
    record = json.loads(peak.read_text())
    assert record["gflops_per_s"] > 0.5 and record["cores"] == [0] and record["threads"] == 1
    subprocess.run([python, "-m", "edgebench.train.peak", "--board", "demo", "--hwcfg", "gpu_cfg1",
                    "--hwconfig", '{"cores": ["core0"], "gpu": true}', "--out", str(peak)], check=True,
                   env=board_environment(), timeout=300)
    refused = json.loads(peak.read_text())
    if refused["gflops_per_s"] is None:  # this machine has no GPU: the reason names the key
        assert refused["reason"].startswith("hwconfigs.gpu_cfg1.gpu")
