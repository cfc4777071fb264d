"""The speaker-count floor from the segmentation model's local speakers (no models)."""

from __future__ import annotations

import numpy as np

from callytics_ray.diarization.offline import LocalSpeaker, local_speaker_floor
from callytics_ray.settings import DiarizationOptions

_EMPTY = np.zeros(1, dtype=np.float32)


def _unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_two_distinct_voices_in_two_chunks_prove_two_speakers():
    speakers = [LocalSpeaker(c, 2.0, _EMPTY) for c in (0, 0, 1, 1)]
    vectors = np.stack([_unit(1, 0), _unit(0, 1), _unit(1, 0.1), _unit(0.1, 1)])
    assert local_speaker_floor(speakers, vectors, DiarizationOptions()) == 2


def test_one_voice_split_in_two_local_speakers_stays_one():
    speakers = [LocalSpeaker(c, 2.0, _EMPTY) for c in (0, 0, 1, 1)]
    vectors = np.stack([_unit(1, 0), _unit(1, 0.2), _unit(1, 0.1), _unit(1, 0.3)])
    assert local_speaker_floor(speakers, vectors, DiarizationOptions()) == 1


def test_one_chunk_is_not_enough_and_the_floor_never_exceeds_two():
    one_chunk = [LocalSpeaker(0, 2.0, _EMPTY), LocalSpeaker(0, 2.0, _EMPTY)]
    assert local_speaker_floor(one_chunk, np.stack([_unit(1, 0), _unit(0, 1)]), DiarizationOptions()) == 1
    three = [LocalSpeaker(c, 2.0, _EMPTY) for c in (0, 0, 0, 1, 1, 1)]
    vectors = np.stack([_unit(1, 0, 0), _unit(0, 1, 0), _unit(0, 0, 1)] * 2)
    assert local_speaker_floor(three, vectors, DiarizationOptions()) == 2
