"""One turn list from a diarizer that gives two annotations of a call (pyannote.audio 4): the
full diarization, where speakers overlap, and the exclusive one, where one speaker holds each
instant (the one transcript alignment wants).

The contract (`SpeakerTurn.secondary`):
- the exclusive turns are the primary turns, as they are;
- what the full diarization has beyond them is added as secondary turns: a speaker heard while
  the exclusive diarization gives the time to someone else.

So all turns together are the full diarization (overlap survives for talk time, RTTM and DER),
and the primary turns alone are the exclusive diarization (word alignment uses only those).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from callytics_ray.diarization.base import sorted_turns
from callytics_ray.types import SpeakerTurn


def _uncovered(start: float, end: float, covers: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of (start, end) outside every span of `covers` (sorted by start)."""
    pieces: list[tuple[float, float]] = []
    cursor = start
    for cover_start, cover_end in covers:
        if cover_start >= end:
            break
        if cover_end <= cursor:
            continue
        if cover_start > cursor:
            pieces.append((cursor, cover_start))
        cursor = cover_end
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def combine_exclusive(full: Sequence[SpeakerTurn], exclusive: Sequence[SpeakerTurn]) -> list[SpeakerTurn]:
    """The exclusive turns plus, marked secondary, each speaker's full-diarization time that the
    exclusive turns do not already give to that speaker; sorted by start.

    Args:
        full: the diarization with overlapping speech (turns rounded to milliseconds).
        exclusive: the same call with one speaker at a time, same speaker labels.
    """
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for turn in exclusive:
        spans[turn.speaker].append((turn.start, turn.end))
    for speaker_spans in spans.values():
        speaker_spans.sort()
    secondary = [
        SpeakerTurn(round(start, 3), round(end, 3), turn.speaker, secondary=True)
        for turn in full
        for start, end in _uncovered(turn.start, turn.end, spans[turn.speaker])
        # Both annotations come from the same frames; a sliver under a millisecond is rounding.
        if round(end, 3) > round(start, 3)
    ]
    return sorted_turns([*exclusive, *secondary])
