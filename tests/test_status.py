"""Remaining-time estimates of `edgebench status` from measured epochs."""

import pytest

from edgebench.status import RunStatus, estimate


def status(model, hwcfg, state, done, times, epochs=10):
    return RunStatus("pytorch", model, hwcfg, 0, state, done, epochs, times)


def test_partial_run_uses_its_own_epochs():
    runs = [status("lenet", "a", "partial", 4, [10, 12, 11, 11])]
    estimate(runs)
    assert runs[0].remaining_s == pytest.approx(6 * 11)


def test_unmeasured_config_is_scaled_by_models_measured_on_both():
    runs = [
        status("lenet", "a", "done", 10, [10.0] * 10),
        status("lenet", "b", "done", 10, [30.0] * 10),  # b is 3x slower than a
        status("alexnet", "a", "done", 10, [100.0] * 10),
        status("alexnet", "b", "not started", 0, []),
    ]
    estimate(runs)
    assert runs[3].remaining_s == pytest.approx(10 * 300.0)
    assert runs[3].basis == "scaled from a (x3.00)"
    assert [r.remaining_s for r in runs[:3]] == [0, 0, 0]


def test_no_basis_and_no_calibration_stays_unknown():
    runs = [status("vgg16", "a", "not started", 0, [])]
    estimate(runs)
    assert runs[0].remaining_s is None and "--calibrate" in runs[0].basis
    estimate(runs, calibrate=lambda s: 42.0)
    assert runs[0].remaining_s == 420.0
