"""Speech regions for diarization: Silero VAD (shipped in faster-whisper) with diarization's own knobs."""

from __future__ import annotations

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from callytics_ray.settings import DiarizationOptions

_SAMPLE_RATE_HZ = 16_000


def speech_regions(samples: np.ndarray, options: DiarizationOptions) -> list[tuple[float, float]]:
    """(start_s, end_s) of the speech in 16 kHz mono `samples`, padded and with short gaps closed.

    Diarization wants looser regions than ASR's VAD: a missed syllable costs missed-speech error
    while a little padding costs almost nothing, so the threshold is lower than Silero's 0.5.
    """
    vad = VadOptions(
        threshold=options.vad_threshold,
        min_speech_duration_ms=options.vad_min_speech_ms,
        min_silence_duration_ms=options.vad_min_silence_ms,
        speech_pad_ms=options.vad_pad_ms,
    )
    stamps = get_speech_timestamps(np.ascontiguousarray(samples, dtype=np.float32), vad, sampling_rate=_SAMPLE_RATE_HZ)
    return [(s["start"] / _SAMPLE_RATE_HZ, s["end"] / _SAMPLE_RATE_HZ) for s in stamps]
