"""ITU-R BS.1770 loudness of a call, kept as a 100 ms frame envelope: measured once by the audio
stage (pyloudnorm's K-weighting), integrated over any speaker's speech by the quality stage.

Usage:
    >>> envelope = measure_envelope([samples], 16_000)
    >>> integrated_lufs(envelope.channel(0), envelope.frame_s, [(0.6, 4.16), (7.73, 11.41)])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from callytics_ray.types import LoudnessEnvelope

# Four frames make one 400 ms BS.1770 gating block, stepped by one frame (the standard's 75 % overlap).
FRAME_S = 0.1
_FRAMES_PER_BLOCK = 4
_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0
_FLOOR_LUFS = -120.0  # digital silence, instead of -inf
_OFFSET = -0.691  # BS.1770: loudness = -0.691 + 10 log10(mean square of the K-weighted signal)


# pyloudnorm filters and copies a whole signal in float64: a 4-hour call goes through in chunks of
# this many frames, each led in by a second of the audio before it (the K-weighting filters settle
# within milliseconds), so the chunks' frames equal the whole signal's.
_CHUNK_FRAMES = 3000
_LEAD_IN_FRAMES = 10


def measure_envelope(channels: Sequence[np.ndarray], sample_rate_hz: int, frame_s: float = FRAME_S) -> LoudnessEnvelope:
    """K-weighted loudness of consecutive `frame_s` frames of each channel.

    pyloudnorm's meter with a one-frame block and no overlap yields exactly this as its
    blockwise loudness; its integrated figure (over the whole channel) is not what we need.
    """
    frame = int(round(frame_s * sample_rate_hz))
    rows = [_channel_frames(samples, sample_rate_hz, frame_s, frame) for samples in channels]
    width = min((len(r) for r in rows), default=0)
    return LoudnessEnvelope(frame_s=frame_s, frames_lufs=np.stack([r[:width] for r in rows]) if rows else np.zeros((0, 0)))


def _channel_frames(samples: np.ndarray, rate: int, frame_s: float, frame: int) -> np.ndarray:
    """# shape: (num_frames,)"""
    import pyloudnorm

    meter = pyloudnorm.Meter(rate, block_size=frame_s, overlap=0.0)
    num_frames = len(samples) // frame
    out = np.full(num_frames, _FLOOR_LUFS, dtype=np.float32)
    for first in range(0, num_frames, _CHUNK_FRAMES):
        lead = min(_LEAD_IN_FRAMES, first)
        last = min(first + _CHUNK_FRAMES, num_frames)
        chunk = np.asarray(samples[(first - lead) * frame : last * frame], dtype=np.float64)
        meter.integrated_loudness(chunk)
        levels = np.asarray(meter.blockwise_loudness[lead:], dtype=np.float64)
        out[first:last] = np.nan_to_num(np.maximum(levels, _FLOOR_LUFS), nan=_FLOOR_LUFS)
    return out


def frame_mask(num_frames: int, frame_s: float, intervals: Sequence[tuple[float, float]]) -> np.ndarray:
    """Frames whose middle lies inside one of `intervals`; an interval too short to hold a middle
    takes the frame it sits in.  # shape: (num_frames,)"""
    mask = np.zeros(num_frames, dtype=bool)
    for start, end in intervals:
        lo, hi = int(np.ceil(start / frame_s - 0.5)), int(np.ceil(end / frame_s - 0.5))
        if hi <= lo:
            lo, hi = int((start + end) / 2 / frame_s), int((start + end) / 2 / frame_s) + 1
        mask[max(lo, 0) : max(min(hi, num_frames), 0)] = True
    return mask


def integrated_lufs(
    frames_lufs: np.ndarray, frame_s: float, intervals: Sequence[tuple[float, float]]
) -> float | None:
    """Gated integrated loudness (ITU-R BS.1770-4) of the frames inside `intervals`.

    Blocks are four consecutive selected frames (400 ms, 75 % overlap); a stretch shorter than a
    block is one block. Blocks below -70 LUFS, then those 10 LU under the mean of the rest, are
    left out, so pauses between words do not pull a speaker's loudness down.

    Returns:
        The loudness in LUFS, or None when nothing above the absolute gate lies in `intervals`.
    """
    mask = frame_mask(len(frames_lufs), frame_s, intervals)
    power = 10.0 ** ((frames_lufs.astype(np.float64) - _OFFSET) / 10.0)
    blocks: list[float] = []
    for run in np.split(np.flatnonzero(mask), np.flatnonzero(np.diff(np.flatnonzero(mask)) > 1) + 1):
        if not len(run):
            continue
        values = power[run]
        if len(values) < _FRAMES_PER_BLOCK:
            blocks.append(float(values.mean()))
        else:
            sums = np.convolve(values, np.ones(_FRAMES_PER_BLOCK) / _FRAMES_PER_BLOCK, mode="valid")
            blocks.extend(sums.tolist())
    block_power = np.asarray(blocks)
    loud = block_power[_OFFSET + 10 * np.log10(np.maximum(block_power, 1e-30)) > _ABSOLUTE_GATE_LUFS]
    if not len(loud):
        return None
    relative = _OFFSET + 10 * np.log10(loud.mean()) + _RELATIVE_GATE_LU
    gated = loud[_OFFSET + 10 * np.log10(loud) > relative]
    return float(_OFFSET + 10 * np.log10(gated.mean()))
