"""The audio stage: decode, pick the channel layout, measure (SNR, speech, the original loudness
envelope), reduce noise, normalise loudness, and on dual-channel calls silence each channel's
crosstalk from the other party."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from callytics_ray.audio.crosstalk import suppress_crosstalk
from callytics_ray.audio.decode import decode_audio
from callytics_ray.audio.enhance import estimate_snr_db, normalize_loudness, reduce_noise
from callytics_ray.audio.layout import is_dual_channel
from callytics_ray.errors import SilentAudioError
from callytics_ray.loudness import measure_envelope
from callytics_ray.settings import AudioOptions, ChannelLayout
from callytics_ray.types import AudioInfo, ProcessedAudio
from callytics_ray.vad import speech_ratio, speech_regions

logger = logging.getLogger(__name__)

_DIGITAL_SILENCE = 1e-4  # peak below -80 dBFS


def load_audio(
    source: Path | str | bytes,
    options: AudioOptions | None = None,
    *,
    layout: ChannelLayout | None = None,
    name: str | None = None,
) -> ProcessedAudio:
    """Decode and clean one recording.

    Args:
        source: a path or the file's bytes (any format FFmpeg reads).
        options: audio options; defaults when None.
        layout: per-call override of `options.channel_layout` ("auto", "mono", "dual").
        name: how to call the recording in error messages.

    Raises:
        AudioError: a subclass saying why the recording cannot be analysed.

    Example:
        >>> audio = load_audio(Path("call.mp3"))
        >>> audio.info.layout, audio.duration_s
    """
    options = options or AudioOptions()
    if isinstance(source, str):
        source = Path(source)
    decoded = decode_audio(
        source,
        target_sample_rate_hz=options.target_sample_rate_hz,
        max_duration_s=options.max_duration_s,
        max_channels=options.max_channels,
        min_bytes_per_s=options.min_bytes_per_s,
        name=name,
    )
    label = name or (source.name if isinstance(source, Path) else "upload")
    rate = decoded.sample_rate_hz
    channels = _split_channels(decoded.samples, rate, layout or options.channel_layout)
    if max(float(np.max(np.abs(c))) if len(c) else 0.0 for c in channels) < _DIGITAL_SILENCE:
        raise SilentAudioError(f"{label} is silent (peak below -80 dBFS)")

    regions = [speech_regions(c, rate) for c in channels]
    ratio = speech_ratio([r for per_channel in regions for r in per_channel], decoded.duration_s)
    if ratio < options.min_speech_ratio:
        raise SilentAudioError(f"{label} contains no speech (speech ratio {ratio:.3f})")
    snr_db = min(estimate_snr_db(c, rate) for c in channels)
    # Measured before noise reduction and gain, which flatten exactly the differences in level
    # between parties and over the call that loudness per speaker reports.
    loudness = measure_envelope(channels, rate)

    denoise = options.noise_reduction == "on" or (
        options.noise_reduction == "auto" and snr_db < options.noise_reduction_below_snr_db
    )
    cleaned: list[np.ndarray] = []
    gains: list[float] = []
    for samples, speech in zip(channels, regions):
        if denoise:
            samples = reduce_noise(samples, rate)
        if options.loudness_normalization:
            samples, gain_db = normalize_loudness(samples, rate, options.target_loudness_dbfs, speech)
            gains.append(gain_db)
        cleaned.append(samples)
    if len(cleaned) == 2 and options.crosstalk_suppression:
        # Recognition and diarization both read these channels: one decision about whose speech
        # a frame is, made once, here.
        cleaned, _ = suppress_crosstalk(cleaned, rate, options)

    info = AudioInfo(
        duration_s=round(decoded.duration_s, 3),
        sample_rate_hz=decoded.original_sample_rate_hz,
        channels=decoded.original_channels,
        codec=decoded.codec,
        container=decoded.container,
        layout="dual" if len(cleaned) == 2 else "mono",
        snr_db=round(snr_db, 2),
        speech_ratio=round(ratio, 4),
        noise_reduced=denoise,
        gain_db=round(float(np.mean(gains)), 2) if gains else 0.0,
        loudness=loudness,
    )
    logger.debug("processed %s: %s", label, info)
    return ProcessedAudio(info=info, channels=tuple(cleaned), sample_rate_hz=rate)


def _split_channels(samples: np.ndarray, rate: int, layout: ChannelLayout) -> list[np.ndarray]:
    """One array per party for dual-channel calls, else one downmixed array."""
    if samples.shape[0] == 2:
        if layout == "dual" or (layout == "auto" and is_dual_channel(samples, rate)):
            return [samples[0].copy(), samples[1].copy()]
        return [samples.mean(axis=0).astype(np.float32)]
    return [samples[0]]
