"""Speech-region shaping of the offline diarizer (pure functions, no models)."""

from __future__ import annotations

import numpy as np

from callytics_ray.diarization.offline import trim_edges

_STEP = 0.02
_TIMES = np.arange(200) * _STEP + _STEP / 2  # 4 s of 20 ms frames


def _silent_outside(start: float, end: float) -> np.ndarray:
    return ~((_TIMES >= start) & (_TIMES < end))


def test_padding_the_other_model_calls_silence_is_cut_back_to_the_voice():
    # VAD says 0.88-2.12 s (the voice, 1.0-2.0 s, padded by 120 ms each side).
    trimmed = trim_edges([(0.88, 2.12)], _silent_outside(1.0, 2.0), _TIMES, max_trim_s=0.12)
    assert len(trimmed) == 1
    start, end = trimmed[0]
    assert abs(start - 1.0) <= _STEP and abs(end - 2.0) <= _STEP


def test_no_more_than_the_padding_is_cut_where_the_other_model_hears_nothing():
    # Quiet far-field speech the segmentation model misses entirely: the VAD region stays,
    # less at most the padding at either end.
    trimmed = trim_edges([(1.0, 2.0)], np.ones(len(_TIMES), bool), _TIMES, max_trim_s=0.12)
    assert len(trimmed) == 1
    start, end = trimmed[0]
    assert 1.1 <= start <= 1.13 and 1.87 <= end <= 1.9


def test_speech_at_the_edge_keeps_the_edge():
    assert trim_edges([(1.0, 2.0)], _silent_outside(0.5, 2.5), _TIMES, max_trim_s=0.12) == [(1.0, 2.0)]
