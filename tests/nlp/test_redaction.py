"""PII redaction on text and on word-timed utterances."""

from __future__ import annotations

import pytest

from callytics_ray.redaction import find_pii, luhn_valid, redact_text, redact_utterance
from callytics_ray.settings import RedactionOptions
from tests.nlp.conftest import make_utterance


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
    ],
)
def test_leaves_ordinary_text(text):
    assert redact_text(text).text == text


def test_unverified_digit_runs_can_be_kept():
    text = "the number is 4111111111111112"
    assert redact_text(text, RedactionOptions(unverified_digit_runs=False)).text == text
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
