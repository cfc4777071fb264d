"""Dual-channel calls: one party per channel, so turns come from per-channel VAD, no clustering."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from callytics_ray.diarization.base import DiarizationRequest, DiarizationResult, Diarizer, resolve_speaker_bounds
from callytics_ray.diarization.vad import speech_regions
from callytics_ray.settings import DiarizationOptions
from callytics_ray.types import SpeakerTurn

_SAMPLE_RATE_HZ = 16_000
_LEVEL_FRAME_S = 0.05


def channel_label(channel: int) -> str:
    """Speaker label of a channel: "CHANNEL_0", "CHANNEL_1"."""
    return f"CHANNEL_{channel}"


def _frame_levels_db(samples: np.ndarray) -> np.ndarray:
    frame = int(_LEVEL_FRAME_S * _SAMPLE_RATE_HZ)
    usable = len(samples) // frame * frame
    power = np.mean(samples[:usable].reshape(-1, frame).astype(np.float64) ** 2, axis=1)
    return 10 * np.log10(power + 1e-12)


class DualChannelDiarizer(Diarizer):
    """Speaker turns of a two-channel call: CHANNEL_0 speaks where channel 0 has speech, and so on.

    Echo of the far party leaks into a channel at a lower level; speech on a channel is dropped
    where it is more than `bleed_db` quieter than the other channel at the same moment.

    Example:
        >>> DualChannelDiarizer(DiarizationOptions()).diarize(stereo_audio)
        [SpeakerTurn(start=0.3, end=4.1, speaker='CHANNEL_0'), ...]
    """

    name = "dual-channel"

    def __init__(self, options: DiarizationOptions) -> None:
        self.options = options

    def with_options(self, options: DiarizationOptions) -> DualChannelDiarizer:
        return DualChannelDiarizer(options)

    def _bounds(self, item: DiarizationRequest) -> tuple[int, int | None]:
        # Hints are checked for consistency, but the channel layout fixes the speakers.
        return resolve_speaker_bounds(item.min_speakers, item.max_speakers, None, None)

    def _diarize_many(self, items: Sequence[DiarizationRequest]) -> list[DiarizationResult]:
        return [self._channel_turns(item.audio.channels) for item in items]

    def _channel_turns(self, channels: Sequence[np.ndarray]) -> list[SpeakerTurn]:
        levels = [_frame_levels_db(c) for c in channels]
        loudest = np.max(np.stack([lv[: min(map(len, levels))] for lv in levels]), axis=0)
        turns: list[SpeakerTurn] = []
        for index, samples in enumerate(channels):
            own = levels[index][: len(loudest)]
            dominant = own >= loudest - self.options.bleed_db
            for start, end in speech_regions(samples, self.options):
                first = int(start / _LEVEL_FRAME_S)
                window = dominant[first : max(first + 1, int(end / _LEVEL_FRAME_S))]
                # A region that is mostly the other party's echo is not this channel's speech.
                if len(window) == 0 or float(window.mean()) >= 0.3:
                    turns.append(SpeakerTurn(round(start, 3), round(end, 3), channel_label(index)))
        return sorted(turns, key=lambda t: (t.start, t.end, t.speaker))
