"""Words to speakers and utterances (no models)."""

from __future__ import annotations

from callytics_ray.alignment import align_words, speaker_of_word
from callytics_ray.settings import UtteranceOptions
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


def _segment(words: list[tuple[float, float, str]], channel: int | None = None) -> TranscriptSegment:
    ws = tuple(Word(s, e, t, 0.9) for s, e, t in words)
    return TranscriptSegment(ws[0].start, ws[-1].end, " ".join(w.text for w in ws), ws, channel=channel)


def test_one_long_segment_is_cut_at_pauses_and_the_length_cap():
    # Batched decoding returns 30 s segments; a speaker who goes on for 40 s without a long pause
    # still comes out in pieces no longer than the cap, cut at sentence ends.
    words = []
    t = 0.0
    for i in range(100):
        text = f"w{i}." if i % 10 == 9 else f"w{i}"
        words.append((t, t + 0.3, text))
        t += 0.4
    transcript = Transcript((_segment(words),), "en", 0.99, "test", t)
    options = UtteranceOptions(max_duration_s=10.0, sentence_pause_s=1.0)
    utterances = align_words(transcript, [SpeakerTurn(0.0, t, "A")], options)
    assert all(u.end - u.start <= 10.0 for u in utterances)
    assert all(u.text.endswith(".") for u in utterances[:-1])
    assert sum(len(u.words) for u in utterances) == 100


def test_a_pause_of_the_speaker_ends_the_utterance():
    transcript = _transcript([(0.0, 0.4, " one"), (0.5, 0.9, " two"), (1.6, 2.0, " three")])
    utterances = align_words(transcript, [SpeakerTurn(0.0, 2.0, "A")])
    assert [u.text for u in utterances] == ["one two", "three"]


def test_dual_channel_parties_interleave_keep_overlap_and_drop_echo():
    # Whisper returns one long segment per channel; channel 1 also "heard" the agent's echo
    # ("thanks" at 0.5 s, far from any channel-1 speech) and duplicated "sure" at 3.1 s.
    agent = _segment([(0.2, 0.6, "Thanks"), (0.7, 1.2, "for calling."), (3.0, 3.4, "Sure."), (5.0, 5.5, "Bye.")], 0)
    customer = _segment([(0.5, 0.9, "thanks"), (1.8, 2.4, "My card"), (2.5, 3.2, "was charged."),
                         (3.05, 3.35, "sure.")], 1)
    transcript = Transcript((agent, customer), "en", 0.99, "test", 6.0)
    turns = [SpeakerTurn(0.1, 1.3, "CHANNEL_0"), SpeakerTurn(2.9, 3.5, "CHANNEL_0"), SpeakerTurn(4.9, 5.6, "CHANNEL_0"),
             SpeakerTurn(1.7, 3.3, "CHANNEL_1")]
    utterances = align_words(transcript, turns)
    assert [(u.speaker, u.text) for u in utterances] == [
        ("CHANNEL_0", "Thanks for calling."), ("CHANNEL_1", "My card was charged."), ("CHANNEL_0", "Sure."),
        ("CHANNEL_0", "Bye."),
    ]
    # The customer's sentence and the agent's "Sure." overlap in time: real overtalk is kept.
    assert utterances[2].start < utterances[1].end


def test_words_in_overlap_go_to_the_speaker_holding_the_floor():
    turns = [SpeakerTurn(0.0, 3.0, "A"), SpeakerTurn(2.0, 4.0, "B")]
    assert speaker_of_word(Word(2.2, 2.6, " and", 1.0), turns) == "A"
    assert speaker_of_word(Word(3.2, 3.6, " no", 1.0), turns) == "B"


def test_without_diarization_whisper_segments_are_still_cut_into_utterances():
    from callytics_ray.utterances import plain_utterances

    words = [(i * 0.5, i * 0.5 + 0.4, f"w{i}") for i in range(80)]
    transcript = Transcript((_segment(words),), "en", 0.99, "test", 40.0)
    utterances = plain_utterances(transcript, UtteranceOptions(max_duration_s=15.0))
    assert len(utterances) >= 3 and all(u.end - u.start <= 15.0 for u in utterances)


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


def test_korean_sentences_end_utterances_too():
    transcript = _transcript([(0.0, 0.5, " 안녕하세요."), (0.8, 1.3, " 무엇을"), (1.4, 2.0, " 도와드릴까요?"), (2.4, 3.0, " 네")])
    utterances = align_words(transcript, [SpeakerTurn(0.0, 3.0, "A")])
    assert [u.text for u in utterances] == ["안녕하세요.", "무엇을 도와드릴까요?", "네"]
