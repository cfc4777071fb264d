"""The diarizer interface every backend implements, with per-item failures for batched calls
(the batch rule of `callytics_ray.failures`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace

from callytics_ray.errors import ConfigError, EmptyAudioError
from callytics_ray.failures import StageFailure, attempt, unwrap
from callytics_ray.types import ProcessedAudio, SpeakerTurn


STAGE = "diarization"


@dataclass(frozen=True, slots=True)
class DiarizationRequest:
    """One call to diarize, with its speaker-count hints.

    Attributes:
        audio: the processed call.
        min_speakers / max_speakers: bounds on the number of speakers; None leaves it open.
    """

    audio: ProcessedAudio
    min_speakers: int | None = None
    max_speakers: int | None = None


DiarizationResult = list[SpeakerTurn] | StageFailure


def resolve_speaker_bounds(
    min_speakers: int | None, max_speakers: int | None, default_min: int | None, default_max: int | None
) -> tuple[int, int | None]:
    """Merge a request's hints with the configured defaults; the request wins.

    Raises:
        ConfigError: a bound below 1, or min above max.
    """
    low = min_speakers if min_speakers is not None else default_min
    high = max_speakers if max_speakers is not None else default_max
    if (low is not None and low < 1) or (high is not None and high < 1):
        raise ConfigError(f"speaker bounds must be at least 1 (got min={low}, max={high})")
    if low is not None and high is not None and low > high:
        raise ConfigError(f"min_speakers={low} is larger than max_speakers={high}; swap or drop one")
    return (low or 1), high


def check_audio(audio: ProcessedAudio) -> None:
    """Refuse audio no backend can diarize.

    Raises:
        EmptyAudioError: no channels or no samples.
        ConfigError: a sample rate other than 16 kHz (the audio stage always resamples).
    """
    if not audio.channels or any(len(c) == 0 for c in audio.channels):
        raise EmptyAudioError("the audio has no samples; send a recording with speech in it")
    if audio.sample_rate_hz != 16_000:
        raise ConfigError(
            f"diarization expects 16 kHz audio from the audio stage, got {audio.sample_rate_hz} Hz"
        )


class Diarizer(ABC):
    """Who spoke when. Backends implement `_diarize_many`; callers use `diarize`/`diarize_batch`.

    Example:
        >>> diarizer = build_diarizer(Settings())
        >>> turns = diarizer.diarize(audio, min_speakers=2, max_speakers=2)
        >>> [(t.start, t.end, t.speaker) for t in turns]
    """

    name: str = "diarizer"

    def diarize(
        self, audio: ProcessedAudio, min_speakers: int | None = None, max_speakers: int | None = None
    ) -> list[SpeakerTurn]:
        """Speaker turns of one call, sorted by start (turns of different speakers may overlap;
        a backend that also picks one speaker per instant marks the others secondary).

        Args:
            audio: the processed call (16 kHz).
            min_speakers / max_speakers: speaker-count hints; None uses the configured defaults.

        Raises:
            EmptyAudioError: the audio has no samples.
            ConfigError: contradictory hints.
            StageError: the backend failed.
        """
        return unwrap(self.diarize_batch([DiarizationRequest(audio, min_speakers, max_speakers)])[0])

    def diarize_batch(self, items: Sequence[DiarizationRequest]) -> list[DiarizationResult]:
        """Diarize several calls at once; one result per item, in order, failures per item.

        Serve's `@serve.batch` hands concurrent requests here, so one bad call must not fail the
        others: each item gets its turns or a `StageFailure`.
        """
        results: list[DiarizationResult | None] = [None] * len(items)
        valid: list[int] = []
        for index, item in enumerate(items):
            checked = attempt(STAGE, lambda: self._validate(item))
            if isinstance(checked, StageFailure):
                results[index] = checked
            else:
                valid.append(index)
        if valid:
            # Backends may share work across the items (one embedding pass): a crash there fails
            # the items it was given, and only those.
            produced = attempt(STAGE, lambda: self._diarize_many([items[i] for i in valid]))
            if isinstance(produced, StageFailure):
                produced = [produced] * len(valid)
            for index, result in zip(valid, produced, strict=True):
                results[index] = result
        return [r for r in results if r is not None]

    def _validate(self, item: DiarizationRequest) -> None:
        check_audio(item.audio)
        self._bounds(item)

    def _bounds(self, item: DiarizationRequest) -> tuple[int, int | None]:
        """The item's speaker bounds after the configured defaults (raises ConfigError on bad hints)."""
        options = getattr(self, "options", None)
        return resolve_speaker_bounds(
            item.min_speakers, item.max_speakers,
            options.min_speakers if options else None, options.max_speakers if options else None,
        )

    @abstractmethod
    def _diarize_many(self, items: Sequence[DiarizationRequest]) -> list[DiarizationResult]:
        """Diarize validated items; return one result per item."""


class OneCallAtATime(Diarizer):
    """Backends whose library diarizes one file per call (pyannote, NeMo): a failure stays per item."""

    def _diarize_many(self, items: Sequence[DiarizationRequest]) -> list[DiarizationResult]:
        return [attempt(STAGE, lambda item=item: self._diarize_one(item)) for item in items]

    @abstractmethod
    def _diarize_one(self, item: DiarizationRequest) -> list[SpeakerTurn]:
        """Turns of one validated item."""


def sorted_turns(turns: list[SpeakerTurn]) -> list[SpeakerTurn]:
    """Turns ordered by start, then end, then speaker."""
    return sorted(turns, key=lambda t: (t.start, t.end, t.speaker))


def clip_turns(turns: Sequence[SpeakerTurn], duration_s: float) -> list[SpeakerTurn]:
    """Turns cut at the end of the call, dropping any that start there or later: a model that pads
    its last window (segmentation-3.0 does) can report speech past the end."""
    end = round(duration_s, 3)
    return [replace(t, end=min(t.end, end)) for t in turns if t.start < end]
