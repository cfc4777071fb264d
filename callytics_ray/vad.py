"""Voice activity with the Silero VAD model that ships inside faster-whisper, shared by the audio
stage (speech ratio) and diarization (speech regions with its own knobs)."""

from __future__ import annotations

import numpy as np

SAMPLE_RATE_HZ = 16_000


def speech_regions(
    samples: np.ndarray,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    *,
    threshold: float = 0.5,
    min_speech_ms: int = 250,
    min_silence_ms: int = 300,
    pad_ms: int = 100,
) -> list[tuple[float, float]]:
    """Return (start_s, end_s) of each speech region in 16 kHz mono `samples`.

    Args:
        threshold: Silero speech probability above which a frame is speech.
        min_speech_ms / min_silence_ms / pad_ms: region shaping (see faster_whisper.vad.VadOptions).
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if sample_rate_hz != SAMPLE_RATE_HZ:
        raise ValueError("Silero VAD here runs on 16 kHz audio")
    options = VadOptions(
        threshold=threshold,
        min_speech_duration_ms=min_speech_ms,
        min_silence_duration_ms=min_silence_ms,
        speech_pad_ms=pad_ms,
    )
    stamps = get_speech_timestamps(np.ascontiguousarray(samples, dtype=np.float32), options, sampling_rate=sample_rate_hz)
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
