"""Dual-channel calls: one party per channel, so turns come from per-channel VAD, no clustering.

The audio stage has already silenced each channel where it carries only the other party's leak
(`callytics_ray.audio.crosstalk`), so a channel's speech is its own party's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from callytics_ray.diarization.base import DiarizationRequest, DiarizationResult, Diarizer, resolve_speaker_bounds
from callytics_ray.diarization.vad import speech_regions
from callytics_ray.settings import DiarizationOptions
from callytics_ray.types import SpeakerTurn, channel_label


class DualChannelDiarizer(Diarizer):
    """Speaker turns of a two-channel call: CHANNEL_0 speaks where channel 0 has speech, and so on.

    Both parties may talk at once; their turns then overlap, which is real overtalk.

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
        turns = [
            SpeakerTurn(round(start, 3), round(end, 3), channel_label(index))
            for index, samples in enumerate(channels)
            for start, end in speech_regions(samples, self.options)
        ]
        return sorted(turns, key=lambda t: (t.start, t.end, t.speaker))
