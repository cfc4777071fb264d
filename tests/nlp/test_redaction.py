"""PII redaction on text, on word-timed utterances, across the utterances of a call, and on
espeak-ng speech recognised by the bundled Whisper."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

import numpy as np
import pytest

from callytics_ray.pipeline.assemble import ConversationResult
from callytics_ray.text.redaction import MASKS, find_pii, luhn_valid, redact_text, redact_utterance, redact_utterances
from callytics_ray.result import CallAnalysis, PiiType
from callytics_ray.settings import RedactionOptions
from callytics_ray.types import AudioInfo, ProcessedAudio, Utterance, join_words
from tests.nlp.conftest import make_utterance
from tests.synth import build_dialogue, espeak

DIGITS = re.compile(r"\d")


def test_luhn():
    assert luhn_valid("4111111111111111")
    assert luhn_valid("5500005555555559")
    assert not luhn_valid("4111111111111112")


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("Yes, it is four one one one, one one one one, one one one one, one one one one.", "Yes, it is [CARD].", "card"),
        ("Yes, it is 4111, 1111, 1111, 1111.", "Yes, it is [CARD].", "card"),
        ("card 4111-1111-1111-1111 expires 12 27", "card [CARD] expires 12 27", "card"),
        ("five five zero zero double zero five five five five five five five five five nine", "[CARD]", "card"),
        ("카드 번호는 사일일일 일일일일 일일일일 일일일일 입니다", "카드 번호는 [CARD] 입니다", "card"),
        ("call me on 555-123-4567 please", "call me on [PHONE] please", "phone"),
        ("제 번호는 010-1234-5678 이에요", "제 번호는 [PHONE] 이에요", "phone"),
        ("mail jane.doe@example.com today", "mail [EMAIL] today", "email"),
        ("it's jane dot doe at example dot com", "it's [EMAIL]", "email"),
        ("my social is 123-45-6789", "my social is [SSN]", "ssn"),
        ("주민등록번호는 900101-1234567 입니다", "주민등록번호는 [KR_RRN] 입니다", "kr_rrn"),
        ("the number is 4111111111111112", "the number is [ACCOUNT]", "account_number"),
        ("Yes, it is 4111111111111111111111111", "Yes, it is [CARD]", "card"),
        # Numbers read out in groups.
        ("my customer ID is 1734, 1256, and 7299, and last one, 178", "my customer ID is [NUMBER]", "number_sequence"),
        # Whisper base on espeak-ng speech of the line above.
        ("My customer ID is 1 ,734 ,1256, and 7 ,299, and last 1 ,178.",
         "My customer ID is [NUMBER].", "number_sequence"),
        ("my account number is seven three four one, two five six seven, and then eight nine oh two",
         "my account number is [NUMBER]", "number_sequence"),
        ("it is seventeen thirty-four, twelve fifty-six, and the last part is seventy-two",
         "it is [NUMBER]", "number_sequence"),
        ("it's double five three, uh, seven one two, dash, nine nine", "it's [NUMBER]", "number_sequence"),
        ("the ID is 1734 one two five six", "the ID is [NUMBER]", "number_sequence"),
        ("So that is 17341256.", "So that is [NUMBER].", "number_sequence"),
        ("number 7 -3 -4 -1 -2 -5 -6 -7, and N", "number [NUMBER], and N", "number_sequence"),
        # E-mail addresses as people say them.
        ("my email is www .beniamineatgmail .com", "my email is [EMAIL]", "email"),
        ("beniamin eat gmail dot com", "[EMAIL]", "email"),
        ("it is john dot smith at gmail dot com, thanks", "it is [EMAIL], thanks", "email"),
        ("it's j o h n at gmail dot com", "it's [EMAIL]", "email"),
        ("mail john.smith@gmail.com now", "mail [EMAIL] now", "email"),
        ("send it to johnatyahoo.com please", "send it to [EMAIL] please", "email"),
        # Whisper base on espeak-ng speech of "my email is john dot smith at gmail dot com" and
        # of "my email is beniamin at gmail dot com".
        ("My email is John .Smith at email .com", "My email is [EMAIL]", "email"),
        ("My email is www .minitemail .com", "My email is [EMAIL]", "email"),
        ("my e-mail is sales at acme dot co dot uk", "my e-mail is [EMAIL]", "email"),
        ("제 이메일은 hong 골뱅이 naver 점 com 입니다", "제 이메일은 [EMAIL] 입니다", "email"),
    ],
)
def test_redacts(text, expected, kind):
    redacted = redact_text(text)
    assert redacted.text == expected
    assert [r.type for r in redacted.redactions] == [kind]
    r = redacted.redactions[0]
    assert redacted.text[r.masked_start : r.masked_end].startswith("[")
    assert not any(ch.isdigit() for ch in redacted.text[r.masked_start : r.masked_end])


@pytest.mark.parametrize(
    "text",
    [
        "I need one more thing, two or three questions.",
        "It will arrive in three days, on the 12th of May 2025.",
        "Order 12345 was shipped.",
        "바다에 가고 싶어요.",
        # Prices, dates, times and counts are no number sequence.
        "It costs $49.99, or $12.50 with the discount, and $1,299 for two.",
        "The price went from 1,299 to 1,499 and 2,000 after tax.",
        "It will arrive on the 12th of May 2025, between 10:30 and 11:45.",
        "between 10, 30 and 11, 15.",
        "the meeting is at ten thirty and then eleven fifteen",
        "I paid forty nine ninety nine and then twelve fifty",
        "the total is 1234 5678 dollars",
        "We opened in 2019 and 2020 was a hard year.",
        "2019 and 2020 were hard years",
        "my date of birth is 1990 01 01",
        "I have two or three days, and then one more week, and then two or three more.",
        "I was on hold for 45 minutes, then 30 more, then 20 again",
        "we have 3 kids and 2 dogs and 1 cat and 4 fish and 5 birds",
        # Sentences with "at" and "dot" are no e-mail.
        "look at the dot com bubble",
        "We looked at the .com bubble in 2001.",
        "we looked at amazon dot com yesterday",
        "meet me at noon, the office is at acme",
        "I'll look at outlook later",
        "I said. www is down",
        "I'll email you, look at the dot com page",
    ],
)
def test_leaves_ordinary_text(text):
    assert redact_text(text).text == text


def test_unverified_digit_runs_can_be_kept():
    text = "the number is 4111111111111112"
    # A long digit run is also a number sequence: keeping it visible takes that type off too.
    kept = RedactionOptions(unverified_digit_runs=False, types=["card", "phone", "email", "ssn", "kr_rrn"])
    assert redact_text(text, kept).text == text
    assert redact_text(text, RedactionOptions(unverified_digit_runs=False)).text == "the number is [NUMBER]"
    assert find_pii("4111 1111 1111 1111", RedactionOptions(types=["phone"])) == ()


def test_utterance_words_are_masked_with_times():
    u = make_utterance("SPEAKER_01", "Yes, it is four one one one, one one one one, one one one one, one one one one.", 10.0)
    red = redact_utterance(u)
    assert red.utterance.text == "Yes, it is [CARD]."
    assert [w.text.strip() for w in red.utterance.words] == ["Yes,", "it", "is", "[CARD]"]
    card_word = red.utterance.words[3]
    assert card_word.start == u.words[3].start and card_word.end == u.words[-1].end
    assert red.times == ((u.words[3].start, u.words[-1].end),)
    joined = " ".join(w.text for w in red.utterance.words)
    assert "one" not in joined and "four" not in joined
    assert red.original is u


def test_every_pii_type_has_a_mask_and_is_on_by_default():
    assert set(MASKS) == set(get_args(PiiType))
    assert set(RedactionOptions().types) == set(get_args(PiiType))


# --- spoken numbers ----------------------------------------------------------------------------

def test_number_words_are_read_in_pairs_and_fillers_are_no_digits():
    # "forty-one eleven" is 4111: a Luhn-valid card only when the pairs are read right.
    card = redact_text("it is forty-one eleven, eleven eleven, eleven eleven, eleven eleven")
    assert [r.type for r in card.redactions] == ["card"]
    assert redact_text("my ID is twenty thirty forty fifty").text == "my ID is [NUMBER]"  # 20 30 40 50
    # 1734 and 125 are seven digits: the "one" of "last one" (Whisper: "last 1") is no digit.
    for text in ("my ID is 1734 and the last one is 125", "my ID is 1734 and last 1 125"):
        assert redact_text(text).text == text
        assert redact_text(text, RedactionOptions(number_min_digits=7)).redactions


def test_korean_numbers_read_in_groups():
    # On text: Whisper base does not recognise espeak-ng's Korean voice (see test_transcriber.py).
    text = "제 고객 번호는 일칠삼사 일이오육 그리고 칠이구구 마지막은 일칠팔 입니다"
    assert redact_text(text).text == "제 고객 번호는 [NUMBER] 입니다"
    assert redact_text("계좌번호는 110 234 그리고 5678 이에요").text == "계좌번호는 [NUMBER] 이에요"
    assert redact_text("삼 일 뒤에 도착합니다, 2019년과 2020년에 열었어요").redactions == ()


def test_number_sequence_tunables():
    seven = "my ID is 1734 and 125"
    assert redact_text(seven).text == seven
    assert redact_text(seven, RedactionOptions(number_min_digits=7)).text == "my ID is [NUMBER]"
    padded = "my ID is 1734 and uh then okay and 1256"
    assert redact_text(padded).text == "my ID is [NUMBER]"
    assert redact_text(padded, RedactionOptions(number_max_span_words=5)).text == padded
    plus = "my ID is 1734 plus 1256"
    assert redact_text(plus).text == plus
    assert redact_text(plus, RedactionOptions(number_fillers=["plus"])).text == "my ID is [NUMBER]"
    assert redact_text(padded, RedactionOptions(types=["card"])).text == padded


def test_a_card_is_not_swallowed_but_an_unverified_run_is():
    assert redact_text("card 4111 1111 1111 1111 and 1234 5678").text == "card [CARD] and [NUMBER]"
    assert redact_text("it is 1734 1256 7299 and last one 178").text == "it is [NUMBER]"


# --- number sequences across utterances and parties ---------------------------------------------

def _call(*turns: tuple[str, str], gap_s: float = 0.6) -> list[Utterance]:
    utterances, t = [], 1.0
    for speaker, text in turns:
        utterances.append(make_utterance(speaker, text, t))
        t = utterances[-1].end + gap_s
    return utterances


def _digit_words(utterance: Utterance):
    return [w for w in utterance.words if DIGITS.search(w.text)]


def test_a_number_split_over_two_utterances():
    call = _call(("SPEAKER_01", "my ID is 1734, 125"), ("SPEAKER_01", "and 7299, and last one, 178"))
    assert [redact_utterance(u).redactions for u in call] == [(), ()]  # neither part is long enough alone
    first, second = redact_utterances(call)
    assert first.utterance.text == "my ID is [NUMBER]"
    assert second.utterance.text == "and [NUMBER]"
    for red, original in zip((first, second), call):
        digits = _digit_words(original)
        assert red.times == ((digits[0].start, digits[-1].end),)
        assert not DIGITS.search(" ".join(w.text for w in red.utterance.words))


def test_a_number_continued_by_the_other_party_and_interleaved():
    customer = make_utterance("SPEAKER_01", "my ID is 1734, 12", 1.0)
    # The agent reads part back while the customer goes on: the words overlap in time.
    agent = make_utterance("SPEAKER_00", "1734, 12, okay", 3.0)
    rest = make_utterance("SPEAKER_01", "56, 7299", 3.4, word_s=0.5)
    reds = redact_utterances([customer, agent, rest])
    assert [r.utterance.text for r in reds] == ["my ID is [NUMBER]", "[NUMBER], okay", "[NUMBER]"]
    assert redact_utterances([customer])[0].redactions == ()


def test_a_long_pause_ends_a_number_sequence():
    parts = ("SPEAKER_01", "my ID is 1734, 125"), ("SPEAKER_01", "and 7299")
    close = redact_utterances(_call(*parts, gap_s=1.0))
    assert [r.utterance.text for r in close] == ["my ID is [NUMBER]", "and [NUMBER]"]
    apart = redact_utterances(_call(*parts, gap_s=30.0))
    assert [r.redactions for r in apart] == [(), ()]
    near = redact_utterances(_call(*parts, gap_s=30.0), RedactionOptions(number_max_span_s=60))
    assert all(r.redactions for r in near)


def test_number_spans_are_stored_with_their_seconds():
    call = _call(
        ("SPEAKER_01", "my ID is 1734, 125"), ("SPEAKER_00", "okay"), ("SPEAKER_01", "7299, and last one, 178")
    )
    reds = redact_utterances(call)
    conversation = ConversationResult(
        utterances=tuple(r.utterance for r in reds), redacted=reds, stored_redacted=True,
        sentiments=None, sentiment=None, quality=None, analysis=None, roles=(),
    )
    analysis = CallAnalysis(call_id="c1")
    conversation.apply_to(analysis)
    stored = json.loads(analysis.to_json())["redactions"]
    assert [(r["type"], r["segment"]) for r in stored] == [("number_sequence", 0), ("number_sequence", 2)]
    for row, original in zip(stored, (call[0], call[2])):
        digits = _digit_words(original)
        assert (row["start_s"], row["end_s"]) == (digits[0].start, digits[-1].end)
        assert analysis.segments[row["segment"]].text[row["start"] : row["end"]] == "[NUMBER]"


# --- spoken e-mail addresses ---------------------------------------------------------------------

def test_email_domains_are_a_setting():
    text = "write to kimatexample"
    assert redact_text(text).text == text
    assert redact_text(text, RedactionOptions(email_domains=["example"])).text == "write to [EMAIL]"


# --- real speech ---------------------------------------------------------------------------------

def _audio(samples: np.ndarray) -> ProcessedAudio:
    info = AudioInfo(len(samples) / 16000, 16000, 1, "pcm_f32le", "wav", "mono", 40.0, 0.9)
    return ProcessedAudio(info=info, channels=(samples.astype(np.float32),))


@pytest.mark.models
def test_spoken_id_number_in_recognised_speech(transcriber):
    from callytics_ray.alignment import align_words
    from callytics_ray.types import SpeakerTurn

    pause = np.zeros(8000, np.float32)
    prefix = espeak("My customer ID is", speed_wpm=150)
    number = espeak("1734, 1256, and 7299, and last one, 178.", speed_wpm=150)
    samples = np.concatenate([pause, prefix, pause, number, pause])
    prefix_end = (len(pause) + len(prefix)) / 16000
    number_start, number_end = prefix_end + len(pause) / 16000, (2 * len(pause) + len(prefix) + len(number)) / 16000
    transcript = transcriber.transcribe(_audio(samples))
    utterances = align_words(transcript, [SpeakerTurn(0.0, len(samples) / 16000, "SPEAKER_01")])
    reds = redact_utterances(utterances)
    masked = " ".join(r.utterance.text for r in reds)
    assert not DIGITS.search(masked), (transcript.text, masked)
    spans = [(r.type, t) for red in reds for r, t in zip(red.redactions, red.times, strict=True)]
    # One read-out; the utterance splitter may cut it at a pause, and each piece gets its span.
    assert spans and {kind for kind, _ in spans} == {"number_sequence"}, (transcript.text, masked)
    start_s, end_s = spans[0][1][0], spans[-1][1][1]
    # Whisper's word times are good to about half a second.
    assert prefix_end - 0.5 <= start_s <= number_start + 0.5, (start_s, transcript.words)
    assert number_end - 1.2 <= end_s <= number_end + 0.5, (end_s, transcript.words)


@pytest.mark.models
def test_spoken_id_number_across_two_parties(transcriber, tmp_path: Path):
    from callytics_ray.audio import load_audio

    turns = [("customer", "My customer ID is 173, 412,"), ("agent", "173, 412, and then?"),
             ("customer", "567, and last one, 29.")]
    reference = build_dialogue(turns, tmp_path / "id.wav")
    transcript = transcriber.transcribe(load_audio(tmp_path / "id.wav"))
    # The reference turns stand in for diarization: each turn's words are one utterance.
    utterances = []
    for turn in reference:
        words = tuple(w for w in transcript.words if turn.start - 0.3 <= (w.start + w.end) / 2 <= turn.end + 0.3)
        utterances.append(Utterance(words[0].start, words[-1].end, turn.speaker, join_words(words), words))
    assert all(DIGITS.search(u.text) for u in utterances), transcript.text
    assert all(redact_utterance(u).redactions == () for u in utterances), "each part alone is too short"
    previous_end = 0.0
    for turn, red in zip(reference, redact_utterances(utterances), strict=True):
        assert not DIGITS.search(red.utterance.text), (transcript.text, red.utterance.text)
        assert [r.type for r in red.redactions] == ["number_sequence"]
        (start_s, end_s), = red.times
        # Whisper starts a word after a pause early (up to a second), so the span need only be
        # centred in its turn and stay out of the turn before.
        assert turn.start <= (start_s + end_s) / 2 <= turn.end, (turn, red.times, transcript.words)
        assert previous_end - 0.6 <= start_s < end_s <= turn.end + 0.7, (turn, red.times, transcript.words)
        previous_end = turn.end
