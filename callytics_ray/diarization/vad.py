"""Speech regions for diarization: the shared Silero VAD with diarization's own knobs."""

from __future__ import annotations

import numpy as np

from callytics_ray.settings import DiarizationOptions
from callytics_ray.vad import speech_regions as silero_regions


def speech_regions(samples: np.ndarray, options: DiarizationOptions) -> list[tuple[float, float]]:
    """(start_s, end_s) of the speech in 16 kHz mono `samples`, padded and with short gaps closed.

    Diarization wants looser regions than ASR's VAD: a missed syllable costs missed-speech error
    while a little padding costs almost nothing, so the threshold is lower than Silero's 0.5.
    """
    return silero_regions(
        samples,
        threshold=options.vad_threshold,
        min_speech_ms=options.vad_min_speech_ms,
        min_silence_ms=options.vad_min_silence_ms,
        pad_ms=options.vad_pad_ms,
    )
