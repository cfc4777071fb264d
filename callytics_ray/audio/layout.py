"""Decide whether a two-channel recording is a dual-channel call (one party per channel)."""

from __future__ import annotations

import numpy as np

from callytics_ray.audio.enhance import frame_levels_db

# A frame "belongs" to one channel when it is this much louder there than on the other.
_DOMINANCE_DB = 10.0
# Share of active frames dominated by one channel above which the channels carry different parties.
_DUAL_MIN_EXCLUSIVE_SHARE = 0.4


def channel_exclusivity(left: np.ndarray, right: np.ndarray, sample_rate_hz: int) -> float:
    """Share of active frames in which one channel dominates the other by 10 dB.

    Dual-channel call recordings put each party on its own channel, so nearly every active
    frame is dominated by one side; stereo of one room, or mono copied to two channels, is not.
    """
    a = frame_levels_db(left, sample_rate_hz)
    b = frame_levels_db(right, sample_rate_hz)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    loud = np.maximum(a, b)
    active = loud > max(np.percentile(loud, 30), -60.0)
    if not np.any(active):
        return 0.0
    return float(np.mean(np.abs(a[active] - b[active]) >= _DOMINANCE_DB))


def is_dual_channel(samples: np.ndarray, sample_rate_hz: int) -> bool:
    """True when a (2, n) recording carries one party per channel. shape of samples: (2, num_samples)"""
    if samples.shape[0] != 2:
        return False
    return channel_exclusivity(samples[0], samples[1], sample_rate_hz) >= _DUAL_MIN_EXCLUSIVE_SHARE
