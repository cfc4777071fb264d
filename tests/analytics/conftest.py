"""The analysis of a real recording through the real pipeline, once per test session: the
categories, scorecards and alerts tests all read it."""

from __future__ import annotations

import pytest

from callytics_ray.pipeline import analyze_file


@pytest.fixture(scope="session")
def real_call(session_settings, local_stages, data_dir):
    return analyze_file(data_dir / "stereo_diarization.wav", session_settings, stages=local_stages)
