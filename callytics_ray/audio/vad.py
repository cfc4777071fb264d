"""Voice activity with the Silero VAD model that ships inside faster-whisper."""

from __future__ import annotations

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps


def speech_regions(
    samples: np.ndarray, sample_rate_hz: int = 16_000, *, min_silence_ms: int = 300, threshold: float = 0.5
) -> list[tuple[float, float]]:
    """Return (start_s, end_s) of each speech region in 16 kHz mono `samples`."""
    if sample_rate_hz != 16_000:
        raise ValueError("Silero VAD here runs on 16 kHz audio")
    options = VadOptions(threshold=threshold, min_silence_duration_ms=min_silence_ms, speech_pad_ms=100)
    stamps = get_speech_timestamps(samples.astype(np.float32), options, sampling_rate=sample_rate_hz)
    return [(s["start"] / sample_rate_hz, s["end"] / sample_rate_hz) for s in stamps]


def speech_ratio(regions: list[tuple[float, float]], duration_s: float) -> float:
    """Share of `duration_s` covered by the union of `regions`."""
    if duration_s <= 0:
        return 0.0
    covered = 0.0
    last_end = 0.0
    for start, end in sorted(regions):
        start = max(start, last_end)
        if end > start:
            covered += end - start
            last_end = end
    return min(1.0, covered / duration_s)
