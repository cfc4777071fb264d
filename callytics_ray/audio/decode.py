"""Decode any container/codec PyAV (FFmpeg) reads into float32 channel arrays at one sample rate."""

from __future__ import annotations

import io
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from callytics_ray.errors import (
    AudioTooLongError,
    CorruptAudioError,
    EmptyAudioError,
    NotAudioError,
    TooManyChannelsError,
)

logger = logging.getLogger(__name__)

_LAYOUTS = {1: "mono", 2: "stereo"}
# Below this share of the declared duration a decode is treated as a broken file, not a short one.
_MIN_DECODED_SHARE = 0.9


@dataclass(frozen=True, slots=True)
class DecodedAudio:
    """Samples as decoded and resampled.

    Attributes:
        samples: float32, shape: (num_channels, num_samples), at `sample_rate_hz`.
        original_sample_rate_hz / original_channels / codec / container: what the file held.
    """

    samples: np.ndarray
    sample_rate_hz: int
    original_sample_rate_hz: int
    original_channels: int
    codec: str
    container: str

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate_hz


@dataclass(frozen=True, slots=True)
class _OpenedStream:
    container: Any
    stream: Any
    channels: int
    rate: int
    declared_s: float | None


@contextmanager
def _open_audio(source: Path | str | bytes, name: str, *, max_duration_s: float, max_channels: int):
    """Open `source` and check its first audio stream against the limits (shared by decode and probe)."""
    if isinstance(source, bytes) and not source:
        raise EmptyAudioError(f"{name} is empty (0 bytes)")
    if isinstance(source, (str, Path)) and Path(source).stat().st_size == 0:
        raise EmptyAudioError(f"{name} is empty (0 bytes)")
    handle = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        container = av.open(handle, mode="r", metadata_errors="ignore")
    except av.error.InvalidDataError as err:
        raise NotAudioError(f"{name} is not a readable audio file ({err.__class__.__name__})") from err
    except av.error.FFmpegError as err:
        raise CorruptAudioError(f"{name} could not be opened: {err}") from err
    with container:
        if not container.streams.audio:
            raise NotAudioError(f"{name} has no audio stream")
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels or len(stream.layout.channels)
        rate = stream.codec_context.sample_rate or stream.rate
        if channels > max_channels:
            raise TooManyChannelsError(f"{name} has {channels} channels; at most {max_channels} are allowed")
        if not rate:
            raise CorruptAudioError(f"{name} has no sample rate")
        declared_s = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
        if declared_s and declared_s > max_duration_s:
            raise AudioTooLongError(f"{name} lasts {declared_s:.0f} s; the limit is {max_duration_s:.0f} s")
        yield _OpenedStream(container, stream, int(channels), int(rate), declared_s)


def _display_name(source: Path | str | bytes, name: str | None) -> str:
    if name:
        return name
    return source.name if isinstance(source, Path) else ("the upload" if isinstance(source, bytes) else str(source))


def probe_audio(
    source: Path | str | bytes, *, max_duration_s: float, max_channels: int, name: str | None = None
) -> None:
    """Check that `source` opens as audio within the limits and its first frame decodes,
    without decoding it all (the gateway refuses bad uploads before storing them).

    Raises:
        AudioError: the subclass that says why.
    """
    label = _display_name(source, name)
    with _open_audio(source, label, max_duration_s=max_duration_s, max_channels=max_channels) as opened:
        try:
            frame = next(iter(opened.container.decode(opened.stream)), None)
        except av.error.FFmpegError as err:
            raise CorruptAudioError(f"{label} could not be decoded: {err}") from err
        if frame is None:
            raise EmptyAudioError(f"{label} holds no audio samples")


def decode_audio(
    source: Path | str | bytes,
    *,
    target_sample_rate_hz: int,
    max_duration_s: float,
    max_channels: int,
    name: str | None = None,
) -> DecodedAudio:
    """Decode the first audio stream of `source`, resampled to `target_sample_rate_hz`.

    Channels are kept apart up to two; recordings with more channels (when allowed) are
    downmixed to mono, since no call layout puts three parties on three channels.

    Raises:
        NotAudioError: no audio stream, or not a media file at all.
        CorruptAudioError: the stream breaks off or cannot be decoded.
        EmptyAudioError: zero samples.
        AudioTooLongError: longer than `max_duration_s`.
        TooManyChannelsError: more than `max_channels` channels.
    """
    label = _display_name(source, name)
    with _open_audio(source, label, max_duration_s=max_duration_s, max_channels=max_channels) as opened:
        samples = _decode_stream(
            opened.container, opened.stream, label, opened.channels, target_sample_rate_hz, max_duration_s,
            opened.declared_s,
        )
        codec = opened.stream.codec_context.name
        container_name = opened.container.format.name
    if samples.shape[1] == 0:
        raise EmptyAudioError(f"{label} holds no audio samples")
    return DecodedAudio(samples, target_sample_rate_hz, opened.rate, opened.channels, codec, container_name)


def _decode_stream(
    container, stream, name: str, channels: int, rate: int, max_duration_s: float, declared_s: float | None
) -> np.ndarray:
    layout = _LAYOUTS.get(channels, "mono")
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    max_samples = int(max_duration_s * rate)
    chunks: list[np.ndarray] = []
    total = 0
    try:
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunk = out.to_ndarray()
                chunks.append(chunk)
                total += chunk.shape[1]
            if total > max_samples:
                raise AudioTooLongError(f"{name} is longer than the limit of {max_duration_s:.0f} s")
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray())
    except av.error.FFmpegError as err:
        # A damaged last frame is common and harmless; a break early in the file loses the call.
        if not declared_s or total / rate < _MIN_DECODED_SHARE * declared_s:
            raise CorruptAudioError(f"{name} is corrupt: decoding failed after {total / rate:.1f} s ({err})") from err
        logger.warning("%s: decoding stopped at %.1f of %.1f s (%s)", name, total / rate, declared_s, err)
    if declared_s and declared_s > 1.0 and total / rate < _MIN_DECODED_SHARE * declared_s:
        raise CorruptAudioError(
            f"{name} is truncated: its header promises {declared_s:.1f} s but only {total / rate:.1f} s decode"
        )
    n_channels = 1 if layout == "mono" else 2
    if not chunks:
        return np.zeros((n_channels, 0), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(chunks, axis=1), dtype=np.float32)


@dataclass(frozen=True, slots=True)
class NativeAudio:
    """A recording's samples at its own rate, channels and (where lossless) sample format.

    Attributes:
        samples: shape: (num_channels, num_samples); int16, int32 or float32 (see `decode_native`).
        sample_format: "s16", "s32" or "flt", the numpy dtype's FFmpeg name.
        lossless_source: whether `samples` are exactly what the file holds (a PCM or lossless
            codec); False for lossy codecs, whose decode was rounded to 16 bits.
    """

    samples: np.ndarray
    sample_rate_hz: int
    sample_format: str
    lossless_source: bool

    @property
    def channels(self) -> int:
        return self.samples.shape[0]


# Decoded sample formats (FFmpeg's names) -> the planar format kept, and whether it is integer PCM
# a lossless codec delivers. Floats from a lossy decoder (mp3, aac, opus, vorbis) are rounded to
# 16 bits once, as any player does; floats of a float PCM file are kept as they are.
_NATIVE_FORMATS = {"u8": "s16p", "s16": "s16p", "s32": "s32p", "flt": "fltp", "dbl": "fltp"}
_DTYPES = {"s16p": np.int16, "s32p": np.int32, "fltp": np.float32}
# FFmpeg's default layout per channel count, for files that declare none (and for encoding).
CHANNEL_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}
_LOSSLESS_CODECS = ("pcm_", "flac", "alac", "wavpack", "tta", "ape", "mlp", "truehd")


def decode_native(
    source: Path | str | bytes, *, max_duration_s: float, max_channels: int, name: str | None = None
) -> NativeAudio:
    """Decode the first audio stream of `source` without resampling, downmixing or, for PCM and
    lossless codecs, any change of sample value.

    Raises:
        AudioError: the subclass that says why (as `decode_audio`).
    """
    label = _display_name(source, name)
    with _open_audio(source, label, max_duration_s=max_duration_s, max_channels=max_channels) as opened:
        codec = opened.stream.codec_context.name
        decoded = opened.stream.codec_context.format.name.removesuffix("p")
        lossless = codec.startswith(_LOSSLESS_CODECS)
        planar = _NATIVE_FORMATS.get(decoded, "fltp")
        if planar == "fltp" and not lossless:
            planar = "s16p"
        layout = opened.stream.layout
        if layout.nb_channels != opened.channels:  # a file that declares no layout
            if opened.channels not in CHANNEL_LAYOUTS:
                raise TooManyChannelsError(f"{label} has {opened.channels} channels and no channel layout")
            layout = av.AudioLayout(CHANNEL_LAYOUTS[opened.channels])
        resampler = av.AudioResampler(format=planar, layout=layout, rate=opened.rate)
        chunks: list[np.ndarray] = []
        try:
            for frame in opened.container.decode(opened.stream):
                chunks += [out.to_ndarray() for out in resampler.resample(frame)]
            chunks += [out.to_ndarray() for out in resampler.resample(None)]
        except av.error.FFmpegError as err:
            raise CorruptAudioError(f"{label} could not be decoded: {err}") from err
    if not chunks:
        raise EmptyAudioError(f"{label} holds no audio samples")
    samples = np.ascontiguousarray(np.concatenate(chunks, axis=1), dtype=_DTYPES[planar])
    return NativeAudio(samples, opened.rate, planar.removesuffix("p"), lossless)
