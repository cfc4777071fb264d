"""Full plus exclusive diarization as one turn list (callytics_ray/diarization/exclusive.py)."""

from __future__ import annotations

from callytics_ray.diarization.exclusive import combine_exclusive
from callytics_ray.types import SpeakerTurn


def _spans(turns, speaker):
    """A speaker's time as merged (start, end) spans."""
    merged: list[list[float]] = []
    for t in sorted((t for t in turns if t.speaker == speaker), key=lambda t: t.start):
        if merged and t.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], t.end)
        else:
            merged.append([t.start, t.end])
    return [tuple(m) for m in merged]


def test_overlap_survives_as_secondary_turns_and_the_primary_turns_are_the_exclusive_ones():
    # A talks 0-4 s; B barges in 1-2.5 s and the exclusive diarization gives that time to B.
    full = [SpeakerTurn(0.0, 4.0, "A"), SpeakerTurn(1.0, 2.5, "B"), SpeakerTurn(5.0, 6.0, "B")]
    exclusive = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(1.0, 2.5, "B"), SpeakerTurn(2.5, 4.0, "A"),
                 SpeakerTurn(5.0, 6.0, "B")]
    turns = combine_exclusive(full, exclusive)
    assert [t for t in turns if not t.secondary] == exclusive
    assert [t for t in turns if t.secondary] == [SpeakerTurn(1.0, 2.5, "A", secondary=True)]
    for speaker in ("A", "B"):  # together the turns are the full diarization
        assert _spans(turns, speaker) == _spans(full, speaker)
    assert turns == sorted(turns, key=lambda t: (t.start, t.end, t.speaker))


def test_several_exclusive_pieces_inside_one_full_turn():
    full = [SpeakerTurn(0.0, 10.0, "A"), SpeakerTurn(2.0, 3.0, "B"), SpeakerTurn(6.0, 7.5, "C")]
    exclusive = [SpeakerTurn(0.0, 2.0, "A"), SpeakerTurn(2.0, 3.0, "B"), SpeakerTurn(3.0, 6.0, "A"),
                 SpeakerTurn(6.0, 7.5, "C"), SpeakerTurn(7.5, 10.0, "A")]
    secondary = [t for t in combine_exclusive(full, exclusive) if t.secondary]
    assert secondary == [SpeakerTurn(2.0, 3.0, "A", True), SpeakerTurn(6.0, 7.5, "A", True)]


def test_no_overlap_gives_no_secondary_turns_and_rounding_slivers_are_dropped():
    full = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(1.0, 2.0, "B")]
    assert combine_exclusive(full, full) == full
    # Float noise below a millisecond between the two annotations is not a turn.
    assert combine_exclusive([SpeakerTurn(0.0, 1.0004, "A")], [SpeakerTurn(0.0, 1.0, "A")]) == [
        SpeakerTurn(0.0, 1.0, "A")
    ]
