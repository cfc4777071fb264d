"""Several recordings decoded in shared batches: their speech chunks go through Whisper together.

faster-whisper's `BatchedInferencePipeline` batches the 30 s chunks of *one* recording. Serve's
`@serve.batch` hands the recognizer several short calls at once, each one or two chunks long, so
batching inside a call gains nothing. Here the calls' audio is laid end to end and each call's
speech is given as clip timestamps that never cross into the next call; the pipeline then decodes
the chunks of every call in the same forward passes, and each segment goes back to its call with
its times made relative to that call again.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Sequence

import numpy as np

from callytics_ray.asr.decoding import decode_arguments
from callytics_ray.settings import AsrOptions

CHUNK_S = 30.0  # Whisper's window: one clip is at most one chunk


def speech_clips(samples: np.ndarray, rate: int, min_silence_ms: int, chunk_s: float = CHUNK_S) -> list[tuple[float, float]]:
    """Contiguous spans of at most `chunk_s` seconds covering the speech Silero finds.

    Neighbouring speech is merged into one span (the silence between stays in it, as Whisper hears
    it when it decodes a whole file), so a call becomes as few full chunks as its speech allows.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    found = get_speech_timestamps(
        samples, VadOptions(min_silence_duration_ms=min_silence_ms, max_speech_duration_s=chunk_s), sampling_rate=rate
    )
    clips: list[list[float]] = []
    for speech in found:
        start, end = speech["start"] / rate, speech["end"] / rate
        if clips and end - clips[-1][0] <= chunk_s:
            clips[-1][1] = end
        else:
            clips.append([start, end])
    return [(s, e) for s, e in clips]


def decode_together(pipeline, recordings: Sequence[np.ndarray], rate: int, language: str, options: AsrOptions) -> list[list]:
    """Decode `recordings` (same language and options) in shared batches.

    Args:
        pipeline: a faster-whisper `BatchedInferencePipeline`.
        recordings: mono float32 audio at `rate`, one per call (or per channel of a call).
        language: the language every recording is decoded in.

    Returns:
        For each recording, faster-whisper `Segment`s with times relative to that recording.
    """
    # Each recording starts on a whole second of the joined audio (silence pads the gap), so a
    # chunk's `seek` (its start in 10 ms frames) names its recording exactly.
    padded = [np.pad(r, (0, _whole_seconds(len(r), rate) * rate - len(r))) for r in recordings]
    offsets = np.cumsum([0] + [len(r) // rate for r in padded[:-1]])
    clips = [
        {"start": float(offset + start), "end": float(offset + end)}
        for offset, samples in zip(offsets, recordings, strict=True)
        for start, end in speech_clips(samples, rate, options.vad_min_silence_ms)
    ]
    per_recording: list[list] = [[] for _ in recordings]
    if not clips:
        return per_recording
    segments, _ = pipeline.transcribe(
        np.concatenate(padded).astype(np.float32),
        clip_timestamps=clips,
        batch_size=options.batch_size,
        vad_filter=False,  # the clips above are the VAD, cut so that no chunk spans two calls
        **decode_arguments(options, language),
    )
    frames_per_second = pipeline.model.frames_per_second
    starts = [int(offset) * frames_per_second for offset in offsets]
    for segment in segments:
        index = bisect.bisect_right(starts, segment.seek) - 1
        duration_s = len(recordings[index]) / rate
        shifted = _shifted(segment, float(offsets[index]), duration_s)
        if shifted.start < duration_s:
            per_recording[index].append(shifted)
    return per_recording


def _whole_seconds(samples: int, rate: int) -> int:
    return -(-samples // rate)


def _shifted(segment, by_s: float, duration_s: float):
    """`segment` with its own and its words' times moved back by `by_s` seconds and kept inside
    the recording (Whisper may place the end of a chunk's last word past the audio it was given)."""

    def clamp(t: float) -> float:
        return round(min(max(t - by_s, 0.0), duration_s), 3)

    words = None
    if segment.words is not None:
        words = [dataclasses.replace(w, start=clamp(w.start), end=clamp(w.end)) for w in segment.words]
    return dataclasses.replace(segment, start=clamp(segment.start), end=clamp(segment.end), words=words)
