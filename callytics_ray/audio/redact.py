"""The redacted copy of a recording: every sample of each PII span, on every channel, replaced by a
bleep or silence, at the recording's own rate and channels, encoded losslessly.

Usage:
    >>> copy = redact_recording(wav_bytes, [AudioSpan(3.2, 7.9)], AudioRedactionOptions(mode="bleep"))
    >>> copy.content_type, copy.applied
    ('audio/flac', (AudioSpan(start_s=2.9, end_s=8.2),))

A span covers the samples from floor(start_s * rate) up to, not including, ceil(end_s * rate),
after padding by `pad_s` on each side and clipping to the recording. The bleep is
round(tone_level * full_scale * sin(2 pi tone_hz n / rate)) at sample n of the recording (one
phase for the whole call, so touching spans join without a click).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from callytics_ray.audio.decode import CHANNEL_LAYOUTS, NativeAudio, decode_native
from callytics_ray.settings import AudioRedactionOptions

# Output per kept sample format: FLAC holds 16-bit integers; 32-bit integers and floats stay PCM
# in a WAV (FFmpeg's FLAC encoder keeps only 24 of 32 bits, and FLAC has no floats).
_OUTPUTS = {
    "s16": ("flac", "flac", "s16", "audio/flac"),
    "s32": ("wav", "pcm_s32le", "s32", "audio/wav"),
    "flt": ("wav", "pcm_f32le", "flt", "audio/wav"),
}
_FULL_SCALE = {"s16": 32767.0, "s32": 2147483647.0, "flt": 1.0}


@dataclass(frozen=True, slots=True)
class AudioSpan:
    """Seconds of a recording, from call start."""

    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class RedactedRecording:
    """A redacted copy and what was done to make it.

    Attributes:
        data: the encoded copy (`container`: "flac" or "wav").
        applied: the spans as replaced: padded, clipped to the recording, overlaps merged.
        sample_format: "s16", "s32" or "flt", as decoded and encoded.
        lossless_source: False when the original is lossy (its decode was rounded to 16 bits).
    """

    data: bytes
    container: str
    content_type: str
    sample_rate_hz: int
    channels: int
    sample_format: str
    lossless_source: bool
    applied: tuple[AudioSpan, ...]
    mode: str
    tone_hz: float
    pad_s: float


def padded_spans(spans: Sequence[AudioSpan], pad_s: float, duration_s: float) -> tuple[AudioSpan, ...]:
    """`spans` widened by `pad_s` on each side, clipped to [0, duration_s], sorted, overlaps merged."""
    widened = sorted(
        (max(0.0, s.start_s - pad_s), min(duration_s, s.end_s + pad_s)) for s in spans if s.end_s >= s.start_s
    )
    merged: list[list[float]] = []
    for start, end in widened:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple(AudioSpan(start, end) for start, end in merged)


def span_samples(span: AudioSpan, sample_rate_hz: int, num_samples: int) -> tuple[int, int]:
    """The samples [first, stop) a span covers: every sample any part of it touches."""
    first = max(0, math.floor(span.start_s * sample_rate_hz))
    stop = min(num_samples, math.ceil(span.end_s * sample_rate_hz))
    return first, max(first, stop)


def bleep(first: int, stop: int, sample_rate_hz: int, options: AudioRedactionOptions, sample_format: str) -> np.ndarray:
    """The bleep tone for samples [first, stop) in `sample_format` (its phase counts from sample 0)."""
    n = np.arange(first, stop, dtype=np.float64)
    tone = options.tone_level * _FULL_SCALE[sample_format] * np.sin(2.0 * np.pi * options.tone_hz * n / sample_rate_hz)
    if sample_format == "flt":
        return tone.astype(np.float32)
    return np.round(tone).astype(np.int16 if sample_format == "s16" else np.int32)


def redact_samples(audio: NativeAudio, applied: Sequence[AudioSpan], options: AudioRedactionOptions) -> np.ndarray:
    """A copy of `audio.samples` with every sample of `applied` replaced on every channel."""
    out = audio.samples.copy()  # shape: (num_channels, num_samples)
    for span in applied:
        first, stop = span_samples(span, audio.sample_rate_hz, out.shape[1])
        if options.mode == "silence":
            out[:, first:stop] = 0
        else:
            out[:, first:stop] = bleep(first, stop, audio.sample_rate_hz, options, audio.sample_format)
    return out


def redact_recording(
    source: Path | str | bytes,
    spans: Sequence[AudioSpan],
    options: AudioRedactionOptions,
    *,
    max_duration_s: float = 4 * 3600.0,
    max_channels: int = 8,
    name: str | None = None,
) -> RedactedRecording:
    """Decode `source` natively, replace each padded span on every channel, encode losslessly.

    Raises:
        AudioError: the recording does not decode (it did when the call was analysed, so this
            means the stored upload changed or the decoder broke).
    """
    audio = decode_native(source, max_duration_s=max_duration_s, max_channels=max_channels, name=name)
    duration_s = audio.samples.shape[1] / audio.sample_rate_hz
    applied = padded_spans(spans, options.pad_s, duration_s)
    container, codec, frame_format, content_type = _OUTPUTS[audio.sample_format]
    data = encode(redact_samples(audio, applied, options), audio.sample_rate_hz, container, codec, frame_format)
    return RedactedRecording(
        data=data, container=container, content_type=content_type, sample_rate_hz=audio.sample_rate_hz,
        channels=audio.channels, sample_format=audio.sample_format, lossless_source=audio.lossless_source,
        applied=applied, mode=options.mode, tone_hz=options.tone_hz, pad_s=options.pad_s,
    )


def encode(samples: np.ndarray, sample_rate_hz: int, container: str, codec: str, frame_format: str) -> bytes:
    """Encode channel-first `samples` as one audio stream (`frame_format`: the packed sample format)."""
    channels = samples.shape[0]
    layout = CHANNEL_LAYOUTS[channels]
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=sample_rate_hz, layout=layout)
        stream.format = frame_format
        # Packed frames: the samples of all channels interleaved, shape: (1, num_samples * num_channels).
        packed = np.ascontiguousarray(samples.T).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(packed, format=frame_format, layout=layout)
        frame.sample_rate = sample_rate_hz
        for packet in stream.encode(frame):
            output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return buffer.getvalue()
