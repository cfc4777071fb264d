"""The role confidence is calibrated: the cue weights in settings are the ones bench/roles.py fits
on the labelled dev calls, and on the held-out test calls the confidence means what it says."""

from __future__ import annotations

import pytest

from bench.roles import WEIGHTS, brier, ece, fit_weights, load_dev_calls, score, speech_accuracy, support_calls
from callytics_ray.settings import RoleOptions


@pytest.fixture(scope="module")
def calls():
    return load_dev_calls()


def test_settings_hold_the_weights_fitted_on_the_dev_calls(calls):
    fitted = fit_weights([c for c in calls if c.split == "dev"], RoleOptions())
    for name in WEIGHTS:
        assert getattr(RoleOptions(), name) == pytest.approx(getattr(fitted, name), abs=0.02), name


def test_held_out_calls_are_right_and_the_confidence_is_calibrated(calls):
    rows = [score(c, RoleOptions()) for c in calls if c.split == "test"]
    assert len(rows) >= 20
    assert speech_accuracy(rows) >= 0.88
    assert speech_accuracy(support_calls(rows)) >= 0.95  # issue 10: support calls, by speech time
    right = sum(r.correct for r in rows) / len(rows)
    assert brier(rows) < right * (1 - right)  # better than a constant confidence
    assert ece(rows) < 0.1
    sure = [r for r in rows if r.confidence >= 0.9]
    assert sure and all(r.correct for r in sure)
    assert all(r.confidence < 0.8 for r in rows if not r.correct)
