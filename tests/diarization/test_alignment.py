"""Words to speakers and utterances (no models)."""

from __future__ import annotations

from callytics_ray.alignment import align_words, speaker_of_word
from callytics_ray.types import SpeakerTurn, Transcript, TranscriptSegment, Word


def _transcript(words: list[tuple[float, float, str]]) -> Transcript:
    ws = tuple(Word(s, e, t, 0.9) for s, e, t in words)
    segment = TranscriptSegment(ws[0].start, ws[-1].end, "".join(w.text for w in ws), ws)
    return Transcript((segment,), "en", 0.99, "test", ws[-1].end)


def test_word_goes_to_the_turn_overlapping_it_most():
    turns = [SpeakerTurn(0.0, 1.05, "A"), SpeakerTurn(1.0, 3.0, "B")]
    assert speaker_of_word(Word(0.9, 1.5, " x", 1.0), turns) == "B"
    assert speaker_of_word(Word(0.2, 1.02, " y", 1.0), turns) == "A"


def test_word_outside_every_turn_goes_to_the_nearest_turn():
    turns = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(3.0, 4.0, "B")]
    assert speaker_of_word(Word(1.2, 1.4, " x", 1.0), turns) == "A"
    assert speaker_of_word(Word(2.6, 2.8, " y", 1.0), turns) == "B"


def test_utterances_are_maximal_same_speaker_runs():
    turns = [SpeakerTurn(0.0, 2.0, "A"), SpeakerTurn(2.2, 4.0, "B"), SpeakerTurn(4.2, 5.0, "A")]
    transcript = _transcript([
        (0.1, 0.5, " Hello."), (0.6, 1.0, " How"), (1.1, 1.8, " are you?"),
        (2.3, 2.8, " Fine,"), (2.9, 3.5, " thanks."), (4.3, 4.8, " Good."),
    ])
    utterances = align_words(transcript, turns)
    assert [(u.speaker, u.text) for u in utterances] == [
        ("A", "Hello. How are you?"), ("B", "Fine, thanks."), ("A", "Good."),
    ]
    assert utterances[0].start == 0.1 and utterances[0].end == 1.8
    assert len(utterances[1].words) == 2


def test_a_sentence_is_not_split_by_a_word_straddling_a_turn_edge():
    # Diarization ends A's turn a little early; the last word of A's sentence leans into B's turn.
    turns = [SpeakerTurn(0.0, 1.5, "A"), SpeakerTurn(1.45, 4.0, "B")]
    transcript = _transcript([(0.1, 0.6, " I"), (0.7, 1.2, " was"), (1.3, 2.0, " charged."), (2.5, 3.0, " Okay.")])
    utterances = align_words(transcript, turns)
    assert [(u.speaker, u.text) for u in utterances] == [("A", "I was charged."), ("B", "Okay.")]


def test_a_sentence_is_split_where_a_turn_boundary_really_falls_inside_it():
    # No sentence mark: A says two words, then B truly takes over in the same "sentence".
    turns = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(1.2, 3.0, "B")]
    transcript = _transcript([(0.1, 0.4, " yes"), (0.5, 0.9, " please"), (1.3, 1.7, " one"), (1.8, 2.4, " moment.")])
    utterances = align_words(transcript, turns)
    assert [(u.speaker, u.text) for u in utterances] == [("A", "yes please"), ("B", "one moment.")]


def test_no_turns_and_no_words():
    transcript = _transcript([(0.1, 0.4, " hi")])
    assert align_words(transcript, [])[0].speaker == "UNKNOWN"
    empty = Transcript((), "en", 1.0, "test", 0.0)
    assert align_words(empty, [SpeakerTurn(0, 1, "A")]) == ()


def test_words_go_to_the_primary_turn_where_a_secondary_one_overlaps_it():
    # Full diarization: A talks 0-4 s, B 1-3 s. The exclusive diarization gives 1-3 s to B, so A's
    # overlapping speech there is secondary. Counting it would tie A and B and hand the word to A
    # (the speaker seen first).
    turns = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(1.0, 3.0, "B"), SpeakerTurn(1.0, 3.0, "A", secondary=True),
             SpeakerTurn(3.0, 4.0, "A")]
    transcript = _transcript([(0.1, 0.8, " Hello."), (1.2, 2.8, " Sorry!"), (3.1, 3.8, " Yes.")])
    assert [(u.speaker, u.text) for u in align_words(transcript, turns)] == [
        ("A", "Hello."), ("B", "Sorry!"), ("A", "Yes."),
    ]
