"""PII detection and masking: card numbers (Luhn-checked, also when read out digit by digit),
phone numbers, e-mail addresses, US SSNs and Korean resident registration numbers.

Usage:
    >>> redacted = redact_text("my card is four one one one one one one one one one one one one one one one")
    >>> redacted.text
    'my card is [CARD]'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from callytics_ray.settings import RedactionOptions
from callytics_ray.types import Utterance, Word

MASKS: dict[str, str] = {
    "card": "[CARD]",
    "phone": "[PHONE]",
    "email": "[EMAIL]",
    "ssn": "[SSN]",
    "kr_rrn": "[KR_RRN]",
    "account_number": "[ACCOUNT]",
}

# Spoken digits as ASR writes them. "oh" / "o" are how people read zeros in card and phone numbers.
_EN_DIGITS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}
# Sino-Korean digits, the ones used to read numbers out. They are also ordinary syllables
# (이 "this", 사 "four/company"), which is why a run must be long and pass a check to count.
_KO_DIGITS = {"공": "0", "영": "0", "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5",
              "육": "6", "륙": "6", "칠": "7", "팔": "8", "구": "9"}
_REPEATERS = {"double": 2, "triple": 3}

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_EMAIL_SPOKEN = re.compile(
    r"\b[a-z0-9._-]+(?:\s+dot\s+[a-z0-9_-]+)*\s+at\s+[a-z0-9-]+(?:\s+dot\s+[a-z]{2,})+\b", re.IGNORECASE
)
_KR_RRN = re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{2})\s?-\s?([1-8])\d{6}(?!\d)")
_SSN = re.compile(r"(?<!\d)(\d{3})-(\d{2})-(\d{4})(?!\d)")
_PHONE = re.compile(
    r"(?<![\d+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])\d{3,4}[\s.-]\d{4}(?!\d)"
)
_TOKEN = re.compile(r"[^\s,.;:!?()\-]+")


@dataclass(frozen=True, slots=True)
class Redaction:
    """One PII span.

    Attributes:
        type: "card", "phone", "email", "ssn", "kr_rrn" or "account_number".
        start / end: character offsets in the original text.
        masked_start / masked_end: offsets of the mask in the redacted text.
    """

    type: str
    start: int
    end: int
    masked_start: int = 0
    masked_end: int = 0


@dataclass(frozen=True, slots=True)
class RedactedText:
    text: str
    original: str
    redactions: tuple[Redaction, ...]


@dataclass(frozen=True, slots=True)
class RedactedUtterance:
    """An utterance with PII masked in its text and words.

    Attributes:
        redactions: spans in `original.text` and, via masked_*, in `utterance.text`.
        times: (start_s, end_s) of each redaction from the masked words, or None when no word
            could be matched.
    """

    utterance: Utterance
    original: Utterance
    redactions: tuple[Redaction, ...]
    times: tuple[tuple[float, float] | None, ...]


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn checksum used by payment cards."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _valid_date(yy: str, mm: str, dd: str) -> bool:
    try:
        date(2000 + int(yy), int(mm), int(dd))  # leap years agree for 1900s except 1900 itself
    except ValueError:
        return False
    return True


def _valid_ssn(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def find_pii(text: str, options: RedactionOptions | None = None) -> tuple[Redaction, ...]:
    """Find PII spans in `text`, longest-first, without overlaps, sorted by position."""
    options = options or RedactionOptions()
    wanted = set(options.types)
    found: list[Redaction] = []

    def add(kind: str, start: int, end: int) -> None:
        if kind == "phone" and start > 0 and text[start - 1] in "(+":
            start -= 1
        # Unwanted kinds still claim their span, so a card is never reported as a phone number.
        if not any(start < r.end and r.start < end for r in found):
            found.append(Redaction(kind, start, end))

    for m in _EMAIL.finditer(text):
        add("email", m.start(), m.end())
    for m in _EMAIL_SPOKEN.finditer(text):
        add("email", m.start(), m.end())
    for m in _KR_RRN.finditer(text):
        if _valid_date(m.group(1), m.group(2), m.group(3)):
            add("kr_rrn", m.start(), m.end())
    for m in _SSN.finditer(text):
        if _valid_ssn(*m.groups()):
            add("ssn", m.start(), m.end())
    for kind, start, end in _digit_runs(text, options):
        add(kind, start, end)
    for m in _PHONE.finditer(text):
        add("phone", m.start(), m.end())
    return tuple(sorted((r for r in found if r.type in wanted), key=lambda r: r.start))


def _digit_tokens(text: str) -> list[tuple[int, int, str | None]]:
    """Tokens with their digits (None for a word that is not a digit)."""
    tokens: list[tuple[int, int, str | None]] = []
    repeat = 1
    for m in _TOKEN.finditer(text):
        word = m.group().lower()
        if word in _REPEATERS:
            repeat = _REPEATERS[word]
            tokens.append((m.start(), m.end(), ""))
            continue
        if word.isdigit():
            digits = word
        elif word in _EN_DIGITS:
            digits = _EN_DIGITS[word]
        elif all(ch in _KO_DIGITS for ch in word):
            digits = "".join(_KO_DIGITS[ch] for ch in word)
        else:
            digits = None
        if digits is not None and repeat > 1:
            digits = digits * repeat
        repeat = 1
        tokens.append((m.start(), m.end(), digits))
    return tokens


def _classify_digits(digits: str, options: RedactionOptions) -> str | None:
    n = len(digits)
    if 13 <= n <= 19 and luhn_valid(digits):
        return "card"
    if n == 13 and digits[6] in "12345678" and _valid_date(digits[:2], digits[2:4], digits[4:6]):
        return "kr_rrn"
    if n == 9 and _valid_ssn(digits[:3], digits[3:5], digits[5:]):
        return "ssn"
    if (n == 10 and digits[0] in "023456789") or (n == 11 and digits[0] in "01"):
        return "phone"
    if n >= 12 and options.unverified_digit_runs:
        return "account_number"
    return None


def _digit_runs(text: str, options: RedactionOptions) -> Iterable[tuple[str, int, int]]:
    """Runs of consecutive digit tokens ("4111 1111 ...", "four one one one, ...") classified by
    length and checksum. A run that is too long as a whole is searched for its longest valid card
    window, so a card followed by an expiry date is still found."""
    tokens = _digit_tokens(text)
    i = 0
    while i < len(tokens):
        if tokens[i][2] is None or tokens[i][2] == "":
            i += 1
            continue
        j = i
        while j + 1 < len(tokens) and tokens[j + 1][2] is not None:
            j += 1
        run = tokens[i : j + 1]
        while run and run[-1][2] == "":
            run.pop()
        yield from _classify_run(run, options)
        i = j + 1


def _classify_run(run: list[tuple[int, int, str | None]], options: RedactionOptions) -> Iterable[tuple[str, int, int]]:
    digits = "".join(t[2] or "" for t in run)
    if len(digits) < 9:
        return
    kind = _classify_digits(digits, options)
    if kind is not None and (kind != "account_number" or len(digits) <= 19):
        yield kind, run[0][0], run[-1][1]
        return
    best: tuple[int, int, int] | None = None  # (length, first, last) of the longest card window
    for a in range(len(run)):
        acc = ""
        for b in range(a, len(run)):
            acc += run[b][2] or ""
            if len(acc) > 19:
                break
            if len(acc) >= 13 and luhn_valid(acc) and (best is None or len(acc) > best[0]):
                best = (len(acc), a, b)
    if best is not None:
        yield "card", run[best[1]][0], run[best[2]][1]
    elif _contains_card(digits):
        # ASR sometimes glues a read-out card into one over-long number ("4111111111111111111");
        # a valid card inside it means the whole run is that card.
        yield "card", run[0][0], run[-1][1]
    elif options.unverified_digit_runs:
        yield "account_number", run[0][0], run[-1][1]


def _contains_card(digits: str) -> bool:
    """Whether a Luhn-valid 13-19 digit number with a card network prefix (2-6) lies inside."""
    for a, first in enumerate(digits):
        if first in "23456":
            for n in range(13, min(19, len(digits) - a) + 1):
                if luhn_valid(digits[a : a + n]):
                    return True
    return False


def redact_text(text: str, options: RedactionOptions | None = None) -> RedactedText:
    """Mask every PII span of `text` with its type's mask, e.g. "[CARD]"."""
    spans = find_pii(text, options)
    pieces: list[str] = []
    out: list[Redaction] = []
    cursor = 0
    length = 0
    for span in spans:
        pieces.append(text[cursor : span.start])
        length += span.start - cursor
        mask = MASKS[span.type]
        out.append(replace(span, masked_start=length, masked_end=length + len(mask)))
        pieces.append(mask)
        length += len(mask)
        cursor = span.end
    pieces.append(text[cursor:])
    return RedactedText("".join(pieces), text, tuple(out))


def _word_offsets(text: str, words: Sequence[Word]) -> list[tuple[int, int] | None]:
    """Character span of each word inside `text`, found in order (None when a word is missing)."""
    offsets: list[tuple[int, int] | None] = []
    cursor = 0
    for word in words:
        token = word.text.strip()
        at = text.find(token, cursor) if token else -1
        if at < 0:
            offsets.append(None)
            continue
        offsets.append((at, at + len(token)))
        cursor = at + len(token)
    return offsets


def redact_utterance(utterance: Utterance, options: RedactionOptions | None = None) -> RedactedUtterance:
    """Mask PII in an utterance's text and words; the words of one span become one masked word
    spanning their times, so no digit of a card survives in the word list."""
    redacted = redact_text(utterance.text, options)
    if not redacted.redactions:
        return RedactedUtterance(utterance, utterance, (), ())
    offsets = _word_offsets(utterance.text, utterance.words)
    words: list[Word] = []
    times: list[tuple[float, float] | None] = []
    owner: dict[int, int] = {}  # word index -> redaction index
    for w_index, span in enumerate(offsets):
        if span is None:
            continue
        for r_index, red in enumerate(redacted.redactions):
            if span[0] < red.end and red.start < span[1]:
                owner[w_index] = r_index
                break
    emitted: set[int] = set()
    for w_index, word in enumerate(utterance.words):
        r_index = owner.get(w_index)
        if r_index is None:
            words.append(word)
            continue
        if r_index in emitted:
            continue
        emitted.add(r_index)
        members = [utterance.words[k] for k, r in owner.items() if r == r_index]
        mask = MASKS[redacted.redactions[r_index].type]
        words.append(Word(members[0].start, members[-1].end, _with_spacing(word.text, mask),
                          min(m.probability for m in members)))
    for r_index in range(len(redacted.redactions)):
        members = [utterance.words[k] for k, r in owner.items() if r == r_index]
        times.append((members[0].start, members[-1].end) if members else None)
    masked = replace(utterance, text=redacted.text, words=tuple(words))
    return RedactedUtterance(masked, utterance, redacted.redactions, tuple(times))


def _with_spacing(original: str, mask: str) -> str:
    # Whisper words carry their leading space; keep it so joined words read naturally.
    return (" " if original.startswith(" ") else "") + mask


def redact_utterances(
    utterances: Sequence[Utterance], options: RedactionOptions | None = None
) -> tuple[RedactedUtterance, ...]:
    """Redact each utterance (spans never cross utterances: each is one speaker's run)."""
    return tuple(redact_utterance(u, options) for u in utterances)
