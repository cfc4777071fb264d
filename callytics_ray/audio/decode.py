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
    OvercompressedAudioError,
    TooManyChannelsError,
)

logger = logging.getLogger(__name__)

_LAYOUTS = {1: "mono", 2: "stereo"}
# Below this share of the declared duration a decode is treated as a broken file, not a short one.
_MIN_DECODED_SHARE = 0.9
# Recorded speech costs hundreds of bytes per second in any codec a contact centre uses (AMR-NB
# at 4.75 kbps is about 600); only a crafted file (hours of digital silence in a few KB of FLAC)
# decodes to far more audio than its size. Past this much audio the density is checked, so a
# bomb is stopped after minutes of decoding, never hours of samples in memory.
_DENSITY_CHECK_AFTER_S = 600.0


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
class _Limits:
    """What a recording may be: at most `max_duration_s` long, `max_channels` wide, and (past
    _DENSITY_CHECK_AFTER_S) at least `min_bytes_per_s` of file per second of audio (0: unchecked)."""

    max_duration_s: float
    max_channels: int
    min_bytes_per_s: float = 0.0

    def check_density(self, name: str, size_bytes: int, seconds: float) -> None:
        if seconds > _DENSITY_CHECK_AFTER_S and size_bytes < seconds * self.min_bytes_per_s:
            raise OvercompressedAudioError(
                f"{name} holds at least {seconds / 60:.0f} min of audio in {size_bytes} bytes "
                f"({size_bytes / seconds:.1f} bytes per second; recorded speech takes at least "
                f"{self.min_bytes_per_s:g}): refused as a decompression bomb"
            )


@dataclass(frozen=True, slots=True)
class _OpenedStream:
    container: Any
    stream: Any
    channels: int
    rate: int
    declared_s: float | None
    size_bytes: int


@contextmanager
def _open_audio(source: Path | str | bytes, name: str, limits: _Limits):
    """Open `source` and check its first audio stream against the limits (shared by decode and probe)."""
    size_bytes = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
    if size_bytes == 0:
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
        codec = stream.codec_context
        if codec is None:  # a header FFmpeg maps to no decoder (an unknown WAV format tag, 0 bits per sample)
            raise CorruptAudioError(f"{name} uses an unknown or undecodable audio format")
        channels = codec.channels or (len(codec.layout.channels) if codec.layout is not None else 0)
        rate = codec.sample_rate or stream.rate
        if not channels:
            raise CorruptAudioError(f"{name} declares no audio channels (unknown or broken audio format)")
        if channels > limits.max_channels:
            raise TooManyChannelsError(f"{name} has {channels} channels; at most {limits.max_channels} are allowed")
        if not rate:
            raise CorruptAudioError(f"{name} has no sample rate")
        declared_s = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
        if declared_s and declared_s > limits.max_duration_s:
            raise AudioTooLongError(f"{name} lasts {declared_s:.0f} s; the limit is {limits.max_duration_s:.0f} s")
        if declared_s:
            limits.check_density(name, size_bytes, declared_s)
        yield _OpenedStream(container, stream, int(channels), int(rate), declared_s, size_bytes)


def _display_name(source: Path | str | bytes, name: str | None) -> str:
    if name:
        return name
    return source.name if isinstance(source, Path) else ("the upload" if isinstance(source, bytes) else str(source))


def probe_audio(
    source: Path | str | bytes,
    *,
    max_duration_s: float,
    max_channels: int,
    min_bytes_per_s: float = 0.0,
    name: str | None = None,
) -> None:
    """Check that `source` opens as audio within the limits and its first frame decodes,
    without decoding it all (the gateway refuses bad uploads before storing them).

    Raises:
        AudioError: the subclass that says why (OvercompressedAudioError when the header declares
            far more audio than `min_bytes_per_s` allows for the file's size).
    """
    label = _display_name(source, name)
    with _open_audio(source, label, _Limits(max_duration_s, max_channels, min_bytes_per_s)) as opened:
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
    min_bytes_per_s: float = 0.0,
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
        OvercompressedAudioError: past 10 minutes, less than `min_bytes_per_s` of file per second
            of audio (a decompression bomb); found while decoding when the header declares no length.
    """
    label = _display_name(source, name)
    limits = _Limits(max_duration_s, max_channels, min_bytes_per_s)
    with _open_audio(source, label, limits) as opened:
        samples = _decode_stream(opened, label, target_sample_rate_hz, limits)
        codec = opened.stream.codec_context.name
        container_name = opened.container.format.name
    if samples.shape[1] == 0:
        raise EmptyAudioError(f"{label} holds no audio samples")
    return DecodedAudio(samples, target_sample_rate_hz, opened.rate, opened.channels, codec, container_name)


def _decode_stream(opened: _OpenedStream, name: str, rate: int, limits: _Limits) -> np.ndarray:
    declared_s = opened.declared_s
    layout = _LAYOUTS.get(opened.channels, "mono")
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    max_samples = int(limits.max_duration_s * rate)
    chunks: list[np.ndarray] = []
    total = 0
    try:
        for frame in opened.container.decode(opened.stream):
            for out in resampler.resample(frame):
                chunk = out.to_ndarray()
                chunks.append(chunk)
                total += chunk.shape[1]
            if total > max_samples:
                raise AudioTooLongError(f"{name} is longer than the limit of {limits.max_duration_s:.0f} s")
            limits.check_density(name, opened.size_bytes, total / rate)
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
    # The recording was accepted already: no density check (0), only the duration and channel limits.
    with _open_audio(source, label, _Limits(max_duration_s, max_channels)) as opened:
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
