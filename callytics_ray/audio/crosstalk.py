"""Crosstalk on dual-channel calls: silence each channel where it carries only the other party.

Contact-center recordings put one party per channel, but each channel also hears the other party
faintly (headset bleed, sidetone, line echo): typically 10 to 30 dB weaker and a few to tens of
milliseconds late. Left in, recognition writes the other party's words on the wrong channel and
per-channel VAD calls them speech. The decision is per frame: a channel speaks where its energy is
more than the bleed that the other channel's recent energy explains, by a margin. The coupling
(how much of each party leaks into the other channel) is measured per call, from the frames
where one party clearly talks alone, so quiet and loud lines are both handled; real overlap (both
talking) passes, because then each channel carries far more than the leak.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_closing, binary_dilation, binary_opening, maximum_filter1d

from callytics_ray.audio.enhance import frame_levels_db
from callytics_ray.settings import AudioOptions

logger = logging.getLogger(__name__)

_FRAME_S = 0.01
_MIN_RUN_FRAMES = 5  # 50 ms: shorter bursts above the leak are noise, not a syllable
# A leak is a scaled copy of the other party: where that party talks, most frames of this channel
# sit within 3 dB of one offset below it, and few below that. Measured on the shared and
# constructed leaking calls, at 16 and 8 kHz: 67-94% within, 3-14% below; on a channel without a
# leak (two independent voices, stereo_diarization.wav): 37-41% within, 52-57% below.
_LEAK_WINDOW_DB = 3.0
_LEAK_CONSISTENCY = 0.5
_LEAK_MAX_BELOW = 0.3
# Bleed, sidetone and echo are weaker than their source (typically by 10-30 dB); a "leak" nearly as
# loud as its source is a second voice at the same level, or a shared mix (audio.layout's job).
_MAX_COUPLING_DB = -6.0
_AUDIBLE_DB = 6.0  # above this channel's noise floor (its 10th percentile frame level)
_MIN_AUDIBLE_FRAMES = 20  # 0.2 s of the other party loud enough to be heard here
_MIN_AUDIBLE_SHARE = 0.5
NO_LEAK_DB = -120.0


@dataclass(frozen=True, slots=True)
class CrosstalkReport:
    """What suppression measured and did on one dual-channel call.

    Attributes:
        coupling_db: estimated level of channel i's party on the other channel, relative to channel i
            (index 0: party 0 leaking into channel 1).
        suppressed_share: share of each channel's frames silenced as the other party's leak.
    """

    coupling_db: tuple[float, float]
    suppressed_share: tuple[float, float]


def frame_power_db(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Level in dBFS of consecutive 10 ms frames (the resolution of the decision).  # shape: (num_frames,)"""
    return frame_levels_db(samples, sample_rate_hz, frame_s=_FRAME_S)


@dataclass(frozen=True, slots=True)
class LeakFit:
    """How the other party's speech shows up on a channel, at one delay.

    Attributes:
        lag_frames: the leak's delay in 10 ms frames.
        coupling_db: the leak's level relative to its source (the densest 6 dB of the offsets).
        consistency: share of the measured frames within 3 dB of that coupling.
        below: share of the measured frames more than 3 dB under it.
    """

    lag_frames: int
    coupling_db: float
    consistency: float
    below: float


def _delayed(levels: np.ndarray, lag: int) -> np.ndarray:
    shifted = np.concatenate([np.full(lag, levels[0]), levels[: len(levels) - lag]]) if lag else levels
    # A frame either side: the lag is known to 10 ms, and a leak follows its source's peaks.
    return maximum_filter1d(shifted, size=3)


def _densest_offset(offsets: np.ndarray) -> float:
    """The centre of the 6 dB window holding the most offsets: the leak's coupling. A median
    would land between the leak and this party's own speech over it on a busy call."""
    ordered = np.sort(offsets)
    ends = np.searchsorted(ordered, ordered + 2 * _LEAK_WINDOW_DB, side="right")
    first = int(np.argmax(ends - np.arange(len(ordered))))
    return float(np.median(ordered[first : ends[first]]))


def fit_leak(own_db: np.ndarray, other_db: np.ndarray, max_delay_frames: int) -> LeakFit | None:
    """The delay, and the coupling at that delay, that best explain this channel by the other.

    Measured on the frames where the other party talks loudly and this channel stands above its
    noise floor; the delay is the one whose offsets are most consistent. None: this channel does
    not hear the other party (or the other party is never loud).
    """
    floor = float(np.percentile(own_db, 10))
    best: LeakFit | None = None
    for lag in range(max_delay_frames + 1):
        source = _delayed(other_db, lag)
        loud = source > max(float(np.percentile(source, 70)), floor + 20.0)
        if not loud.any():
            continue
        # Measure where a leak at the rough coupling would stand above this channel's noise floor:
        # below it the offsets measure the floor, which moves with the channel's gain and noise
        # reduction. And a leak is heard there: if this channel sits at its floor on most of
        # those frames, it does not hear the other party.
        rough = _densest_offset(own_db[loud] - source[loud])
        expected = loud & (source + rough > floor + _AUDIBLE_DB)
        audible = expected & (own_db > floor + _AUDIBLE_DB)
        if int(audible.sum()) < max(_MIN_AUDIBLE_FRAMES, _MIN_AUDIBLE_SHARE * int(expected.sum())):
            continue
        offsets = own_db[audible] - source[audible]
        coupling = _densest_offset(offsets)
        fit = LeakFit(
            lag_frames=lag,
            coupling_db=coupling,
            consistency=float(np.mean(np.abs(offsets - coupling) <= _LEAK_WINDOW_DB)),
            below=float(np.mean(offsets < coupling - _LEAK_WINDOW_DB)),
        )
        if best is None or fit.consistency > best.consistency:
            best = fit
    return best


def is_leak(fit: LeakFit | None) -> bool:
    """A leak is a scaled copy: most frames sit at one offset, and this channel is almost never
    quieter than it (being louder is this party talking over the other), and it is weaker than
    its source. Independent speech on the two channels spreads both ways."""
    return (
        fit is not None
        and fit.coupling_db <= _MAX_COUPLING_DB
        and fit.consistency >= _LEAK_CONSISTENCY
        and fit.below <= _LEAK_MAX_BELOW
    )


def own_speech_frames(
    own_db: np.ndarray, other_db: np.ndarray, options: AudioOptions
) -> tuple[np.ndarray, float]:
    """Frames where a channel carries its own party, and the estimated coupling from the other one.

    Args:
        own_db / other_db: per-frame level of this channel and of the other channel.

    Returns:
        (mask, coupling_db): True where this channel's level exceeds the leak that the other
        channel explains (delayed by the measured lag, scaled by the measured coupling) by
        `crosstalk_margin_db`. Where the channel shows no leak (`is_leak`), every frame is kept
        and the coupling is `NO_LEAK_DB`: suppressing a leak that isn't there would cut a party
        who talks over the other.
    """
    max_delay = max(1, int(round(options.crosstalk_max_delay_ms / 1000 / _FRAME_S)))
    fit = fit_leak(own_db, other_db, max_delay)
    if fit is None or not is_leak(fit):
        return np.ones(len(own_db), dtype=bool), NO_LEAK_DB
    source, coupling = _delayed(other_db, fit.lag_frames), fit.coupling_db
    floor = float(np.percentile(own_db, 10))
    explained = np.maximum(source + coupling, floor)
    mask = own_db > explained + options.crosstalk_margin_db
    return mask, coupling


def suppress_crosstalk(
    channels: list[np.ndarray], sample_rate_hz: int, options: AudioOptions
) -> tuple[list[np.ndarray], CrosstalkReport]:
    """Each channel with the frames that carry only the other party's leak silenced.

    The kept regions are widened by `crosstalk_hangover_ms` so word onsets and trailing
    consonants (quiet, and easily below the margin) survive, and the gain is ramped rather than
    switched so the recogniser hears no clicks.
    """
    frame = max(1, int(_FRAME_S * sample_rate_hz))
    levels = [frame_power_db(c, sample_rate_hz) for c in channels]
    n = min(len(levels[0]), len(levels[1]))
    hangover = max(1, int(round(options.crosstalk_hangover_ms / 1000 / _FRAME_S)))
    out: list[np.ndarray] = []
    couplings: list[float] = []
    shares: list[float] = []
    for index in (0, 1):
        own, other = levels[index][:n], levels[1 - index][:n]
        mask, coupling = own_speech_frames(own, other, options)
        couplings.append(round(coupling, 1))
        if coupling == NO_LEAK_DB:
            out.append(channels[index])
            shares.append(0.0)
            continue
        # A few frames of leak that poke above the margin are not speech; then bridge short gaps.
        mask = binary_opening(mask, structure=np.ones(_MIN_RUN_FRAMES))
        mask = binary_closing(mask, structure=np.ones(hangover))
        mask = binary_dilation(mask, structure=np.ones(2 * hangover + 1))
        gain = np.convolve(np.pad(mask.astype(np.float32), 1, mode="edge"), np.ones(3, dtype=np.float32) / 3, "valid")
        per_sample = np.repeat(gain, frame)
        samples = channels[index].copy()
        covered = min(len(samples), len(per_sample))
        samples[:covered] *= per_sample[:covered]
        samples[covered:] *= float(gain[-1]) if len(gain) else 1.0
        shares.append(round(float(1.0 - mask.mean()) if len(mask) else 0.0, 3))
        out.append(samples.astype(np.float32))
    # Channel i's coupling measures party (1 - i) leaking into it.
    report = CrosstalkReport(coupling_db=(couplings[1], couplings[0]), suppressed_share=(shares[0], shares[1]))
    logger.debug("crosstalk: %s", report)
    return out, report
