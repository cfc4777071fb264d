"""PII detection and masking: card numbers (Luhn-checked, also when read out digit by digit),
phone numbers, e-mail addresses (written, and spoken the way Whisper writes them), US SSNs, Korean
resident registration numbers, and other long numbers read out in groups ("number_sequence":
account, customer and ID numbers, as digits, English or Sino-Korean number words, with fillers
such as "and" or "last one" between the groups).

Number sequences are looked for in the whole call: the words of all utterances merged by time, so
a number read over two utterances, or finished by the other party, is one sequence, and each
utterance it touches gets its own span (with the seconds of its words).

Usage:
    >>> redacted = redact_text("my card is four one one one one one one one one one one one one one one one")
    >>> redacted.text
    'my card is [CARD]'
    >>> redact_text("my customer ID is 1734, 1256, and 7299, and last one, 178").text
    'my customer ID is [NUMBER]'
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol

from callytics_ray.settings import RedactionOptions
from callytics_ray.types import Utterance, Word

logger = logging.getLogger(__name__)


class HasText(Protocol):
    text: str


MASKS: dict[str, str] = {
    "card": "[CARD]",
    "phone": "[PHONE]",
    "email": "[EMAIL]",
    "ssn": "[SSN]",
    "kr_rrn": "[KR_RRN]",
    "account_number": "[ACCOUNT]",
    "number_sequence": "[NUMBER]",
}

# Spoken digits as ASR writes them. "oh" / "o" are how people read zeros in card and phone numbers.
_EN_DIGITS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}
_EN_TEENS = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15",
    "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}
# Numbers are read in pairs ("seventeen thirty-four" is 1734): a tens word is its tens digit
# before a unit word ("thirty four" is 34) and the whole tens otherwise ("twenty" is 20).
_EN_TENS = {
    "twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6", "seventy": "7", "eighty": "8",
    "ninety": "9",
}
_EN_UNITS = {word for word, digit in _EN_DIGITS.items() if digit != "0"}
# Sino-Korean digits, the ones used to read numbers out. They are also ordinary syllables
# (이 "this", 사 "four/company"), which is why a run must be long and pass a check to count.
_KO_DIGITS = {"공": "0", "영": "0", "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5",
              "육": "6", "륙": "6", "칠": "7", "팔": "8", "구": "9"}
_REPEATERS = {"double": 2, "triple": 3}

# Words next to a run of numbers that make it a time, a date, an amount or a count, not an ID:
# "between 10 30 and 11 15", "paid forty nine ninety nine", "1500 and 2300 won".
_QUANTITY_BEFORE = {
    "at", "between", "from", "until", "till", "by", "around", "about", "since", "before", "after", "in",
    "on", "paid", "pay", "cost", "costs", "charged", "price", "over", "under", "approximately", "roughly",
    "almost", "nearly",
}
_QUANTITY_AFTER = {
    "dollars", "dollar", "bucks", "cents", "euros", "pounds", "won", "percent", "days", "day", "weeks",
    "months", "years", "hours", "minutes", "seconds", "times", "am", "pm", "a.m", "p.m", "o'clock",
    "원", "시", "분", "년", "개월",
}

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Spoken e-mail addresses as Whisper writes them: "dot" or a stray " ." between labels
# ("John .Smith at email .com"), "at" heard as "eat", letters spelled out ("j o h n"), and the
# Korean 골뱅이 (@) and 점 (dot). "word. word" is a sentence end, never a dot of an address.
_DOT = r"(?:\.(?=[a-z0-9])|\s+\.\s*|\s+(?:dot|점|닷)\s+)"
_LABEL = r"[a-z0-9](?:[a-z0-9_%+-]*[a-z0-9])?"
_LOCAL = rf"(?:(?:[a-z0-9]\s+){{2,}}[a-z0-9](?![a-z0-9])|{_LABEL}(?:(?:{_DOT}|\s+underscore\s+){_LABEL})*)"
_ADDRESS_START = r"(?<![\w.@'’])"
_ADDRESS_END = r"(?![\w@])"
_EMAIL_SPOKEN = re.compile(
    rf"{_ADDRESS_START}(?P<local>{_LOCAL})\s+(?P<at>at|eat|@|골뱅이)\s+(?P<domain>{_LABEL})"
    rf"(?P<rest>(?:{_DOT}{_LABEL})*){_ADDRESS_END}",
    re.IGNORECASE,
)
# After "my email is", an address-like word is the e-mail however garbled ("www .minitemail .com").
_EMAIL_CUED = re.compile(
    rf"(?:mail|메일)\w*(?:\W+\w+){{0,3}}?\W+(?P<address>(?P<first>{_LABEL})(?:{_DOT}{_LABEL})*{_DOT}"
    rf"(?:com|net|org|co|kr|io|edu|gov|me|uk|de|jp|info|biz)){_ADDRESS_END}",
    re.IGNORECASE,
)
_MAIL_CUE = re.compile(r"mail|메일", re.IGNORECASE)
# Function words are never a mail domain: "look at the dot com bubble".
_NOT_A_DOMAIN = {"the", "a", "an", "this", "that", "these", "those", "my", "your", "our", "his", "her",
                 "their", "its", "some", "any", "all", "least", "most", "once", "first", "last"}
_KR_RRN = re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{2})\s?-\s?([1-8])\d{6}(?!\d)")
_SSN = re.compile(r"(?<!\d)(\d{3})-(\d{2})-(\d{4})(?!\d)")
_PHONE = re.compile(
    r"(?<![\d+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])\d{3,4}[\s.-]\d{4}(?!\d)"
)
# A word as the number reader sees it. "." and ":" inside a word keep it whole ("49.99", "10:30",
# "gmail.com"), and so does a thousands comma ("2,000"): such a word is an amount, a time or an
# address, never a group of an ID. Any other comma splits ("4111,1111" is two groups).
_WORD_CHAR = r"[^\s,;:.!?()\"\-]"
_TOKEN = re.compile(rf"(?:{_WORD_CHAR}|(?<={_WORD_CHAR})(?:[.:](?={_WORD_CHAR})|,(?=\d{{3}}(?!\d))))+")


@dataclass(frozen=True, slots=True)
class Redaction:
    """One PII span.

    Attributes:
        type: one of `MASKS` ("card", "phone", "email", "ssn", "kr_rrn", "account_number",
            "number_sequence").
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
        redactions: spans in `original.text` and, via masked_*, in `utterance.text`. A number
            sequence read over several utterances has one span in each of them.
        times: (start_s, end_s) of each redaction from the masked words, or None when no word
            could be matched.
    """

    utterance: Utterance
    original: Utterance
    redactions: tuple[Redaction, ...]
    times: tuple[tuple[float, float] | None, ...]


@dataclass(frozen=True, slots=True)
class _Token:
    """A word of a text with the digits it reads as: "" for "double"/"triple" (they only repeat
    the next digits), None for a word that is no number."""

    start: int
    end: int
    word: str
    digits: str | None


@dataclass(frozen=True, slots=True)
class _Spoken:
    """A token in the call's word stream: which utterance it is in, when it was said, and whether
    another detector (card, phone, ...) already took it."""

    source: int
    token: _Token
    start_s: float
    end_s: float
    claimed: bool


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


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _rrn_date(yy: str, mm: str, dd: str) -> bool:
    return _valid_date(2000 + int(yy), int(mm), int(dd))  # leap years agree for 1900s except 1900 itself


def _plausible_year(year: int) -> bool:
    return 1900 <= year <= 2099


def _valid_ssn(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def find_pii(text: str, options: RedactionOptions | None = None) -> tuple[Redaction, ...]:
    """Find PII spans in `text`, longest-first, without overlaps, sorted by position.

    The text counts as one utterance without word times: only `number_max_span_words` bounds a
    number sequence in it.
    """
    return _find_in_utterances([Utterance(0.0, 0.0, "", text)], options or RedactionOptions())[0]


def _find_in_utterances(utterances: Sequence[Utterance], options: RedactionOptions) -> list[tuple[Redaction, ...]]:
    """The PII spans of each utterance, sorted by position: first what one text shows on its own
    (cards, phones, e-mails, ...), then number sequences in the word stream of all utterances."""
    wanted = set(options.types)
    found: list[list[Redaction]] = []
    stream: list[_Spoken] = []
    for index, utterance in enumerate(utterances):
        tokens = _tokens(utterance.text)
        claims = _claims(utterance.text, tokens, options)
        found.append(claims)
        # An unverified digit run ("account_number") can be one group of a longer read-out, so
        # it does not stop a number sequence; every other kind does.
        sure = [r for r in claims if r.type != "account_number"]
        for token, (start_s, end_s) in zip(tokens, _token_times(utterance, tokens), strict=True):
            claimed = any(token.start < r.end and r.start < token.end for r in sure)
            stream.append(_Spoken(index, token, start_s, end_s, claimed))
    if "number_sequence" in wanted:
        stream.sort(key=lambda s: s.start_s)  # stable: equal times keep utterance and word order
        for source, span in _number_sequences(stream, options):
            _add_sequence(found[source], span)
    return [tuple(sorted((r for r in claims if r.type in wanted), key=lambda r: r.start)) for claims in found]


def _add_sequence(claims: list[Redaction], span: Redaction) -> None:
    """Add a number sequence's span, which takes over the account-number runs inside it; one
    that is no more than such a run leaves it as it is."""
    inside = [r for r in claims if r.start < span.end and span.start < r.end]
    if len(inside) == 1 and (inside[0].start, inside[0].end) == (span.start, span.end):
        return
    claims[:] = [r for r in claims if r not in inside]
    claims.append(span)


def _claims(text: str, tokens: list[_Token], options: RedactionOptions) -> list[Redaction]:
    """The spans one text shows on its own, of every kind: unwanted kinds still claim their span,
    so a card is never reported as a phone number or a number sequence."""
    found: list[Redaction] = []

    def add(kind: str, start: int, end: int) -> None:
        if kind == "phone" and start > 0 and text[start - 1] in "(+":
            start -= 1
        if not any(start < r.end and r.start < end for r in found):
            found.append(Redaction(kind, start, end))

    for start, end in _emails(text, options):
        add("email", start, end)
    for m in _KR_RRN.finditer(text):
        if _rrn_date(m.group(1), m.group(2), m.group(3)):
            add("kr_rrn", m.start(), m.end())
    for m in _SSN.finditer(text):
        if _valid_ssn(*m.groups()):
            add("ssn", m.start(), m.end())
    for kind, start, end in _digit_runs(tokens, options):
        add(kind, start, end)
    for m in _PHONE.finditer(text):
        add("phone", m.start(), m.end())
    return found


def _emails(text: str, options: RedactionOptions) -> Iterable[tuple[int, int]]:
    """E-mail addresses, written or spoken, the surest forms first."""
    domains = frozenset(d.lower() for d in options.email_domains)
    for m in _EMAIL.finditer(text):
        yield m.span()
    if domains:
        for m in _glued_email(domains).finditer(text):
            yield m.span()
    for m in _EMAIL_SPOKEN.finditer(text):
        if _spoken_email(m, text, domains):
            yield m.span()
    for m in _EMAIL_CUED.finditer(text):
        if m["first"].lower() not in _NOT_A_DOMAIN:
            yield m.span("address")


@functools.lru_cache(maxsize=16)
def _glued_email(domains: frozenset[str]) -> re.Pattern[str]:
    """Whisper glues "at" (or "eat") between the name and the provider into one word:
    "www .beniamineatgmail .com". Only a known provider makes such a word an address."""
    names = "|".join(sorted(re.escape(d) for d in domains))
    return re.compile(
        rf"{_ADDRESS_START}(?:{_LABEL}{_DOT})*[a-z0-9_]+?(?:e?at|@)(?:{names})(?:{_DOT}{_LABEL})*{_ADDRESS_END}",
        re.IGNORECASE,
    )


def _spoken_email(m: re.Match[str], text: str, domains: frozenset[str]) -> bool:
    """Whether "<local> at <domain> ..." is an address, not a sentence ("look at the dot com
    bubble", "we looked at amazon dot com"). A known provider with its ending is enough; otherwise
    it needs an ending or a known provider, and a local part built like one (dots, digits,
    spelled letters) or the word "mail" just before."""
    domain = m["domain"].lower()
    if domain in _NOT_A_DOMAIN:
        return False
    known = domain in domains
    if known and m["rest"]:
        return True
    if not (known or m["rest"]):
        return False
    built = re.search(r"[\s.\d_]", m["local"]) is not None
    return built or _MAIL_CUE.search(text, max(0, m.start() - 40), m.start()) is not None


def _tokens(text: str) -> list[_Token]:
    """The words of `text` with the digits each reads as ("double five" is 5 twice)."""
    matches = list(_TOKEN.finditer(text))
    words = [m.group().lower() for m in matches]
    tokens: list[_Token] = []
    repeat = 1
    for i, m in enumerate(matches):
        if words[i] in _REPEATERS:
            repeat = _REPEATERS[words[i]]
            tokens.append(_Token(m.start(), m.end(), words[i], ""))
            continue
        digits = _read_digits(words[i], words[i + 1] if i + 1 < len(words) else "")
        if digits is not None:
            digits *= repeat
        repeat = 1
        tokens.append(_Token(m.start(), m.end(), words[i], digits))
    return tokens


def _read_digits(word: str, following: str) -> str | None:
    """The digits a word reads as: "1734", "seven", "seventeen", "thirty" (3 before "four", else
    30), "일칠삼사"; None for any other word."""
    if word.isascii() and word.isdigit():
        return word
    if word in _EN_DIGITS:
        return _EN_DIGITS[word]
    if word in _EN_TEENS:
        return _EN_TEENS[word]
    if word in _EN_TENS:
        return _EN_TENS[word] + ("" if following in _EN_UNITS else "0")
    if all(ch in _KO_DIGITS for ch in word):
        return "".join(_KO_DIGITS[ch] for ch in word)
    return None


def _classify_digits(digits: str, options: RedactionOptions) -> str | None:
    n = len(digits)
    if 13 <= n <= 19 and luhn_valid(digits):
        return "card"
    if n == 13 and digits[6] in "12345678" and _rrn_date(digits[:2], digits[2:4], digits[4:6]):
        return "kr_rrn"
    if n == 9 and _valid_ssn(digits[:3], digits[3:5], digits[5:]):
        return "ssn"
    if (n == 10 and digits[0] in "023456789") or (n == 11 and digits[0] in "01"):
        return "phone"
    if n >= 12 and options.unverified_digit_runs:
        return "account_number"
    return None


def _digit_runs(tokens: list[_Token], options: RedactionOptions) -> Iterable[tuple[str, int, int]]:
    """Runs of consecutive digit tokens ("4111 1111 ...", "four one one one, ...") classified by
    length and checksum. A run that is too long as a whole is searched for its longest valid card
    window, so a card followed by an expiry date is still found."""
    i = 0
    while i < len(tokens):
        if not tokens[i].digits:
            i += 1
            continue
        j = i
        while j + 1 < len(tokens) and tokens[j + 1].digits is not None:
            j += 1
        run = tokens[i : j + 1]
        while run and run[-1].digits == "":
            run.pop()
        yield from _classify_run(run, options)
        i = j + 1


def _classify_run(run: list[_Token], options: RedactionOptions) -> Iterable[tuple[str, int, int]]:
    digits = "".join(t.digits or "" for t in run)
    if len(digits) < 9:
        return
    kind = _classify_digits(digits, options)
    if kind is not None and (kind != "account_number" or len(digits) <= 19):
        yield kind, run[0].start, run[-1].end
        return
    best: tuple[int, int, int] | None = None  # (length, first, last) of the longest card window
    for a in range(len(run)):
        acc = ""
        for b in range(a, len(run)):
            acc += run[b].digits or ""
            if len(acc) > 19:
                break
            if len(acc) >= 13 and luhn_valid(acc) and (best is None or len(acc) > best[0]):
                best = (len(acc), a, b)
    if best is not None:
        yield "card", run[best[1]].start, run[best[2]].end
    elif _contains_card(digits):
        # ASR sometimes glues a read-out card into one over-long number ("4111111111111111111");
        # a valid card inside it means the whole run is that card.
        yield "card", run[0].start, run[-1].end
    elif options.unverified_digit_runs:
        yield "account_number", run[0].start, run[-1].end


def _contains_card(digits: str) -> bool:
    """Whether a Luhn-valid 13-19 digit number with a card network prefix (2-6) lies inside."""
    for a, first in enumerate(digits):
        if first in "23456":
            for n in range(13, min(19, len(digits) - a) + 1):
                if luhn_valid(digits[a : a + n]):
                    return True
    return False


def _token_times(utterance: Utterance, tokens: Sequence[_Token]) -> list[tuple[float, float]]:
    """When each token was said: the times of the word holding it. A token no word holds (text
    changed after recognition, an utterance without words) takes the times of the one before.
    Times never go back within an utterance, so merging utterances by time keeps words in order."""
    held = [(span, word) for span, word in zip(word_offsets(utterance.text, utterance.words), utterance.words) if span]
    times: list[tuple[float, float]] = []
    last = (utterance.start, utterance.start)
    k = 0
    for token in tokens:
        while k < len(held) and held[k][0][1] <= token.start:
            k += 1
        if k < len(held) and held[k][0][0] < token.end:
            word = held[k][1]
            last = (max(word.start, last[0]), max(word.end, last[1]))
        times.append(last)
    return times


def _number_sequences(stream: Sequence[_Spoken], options: RedactionOptions) -> list[tuple[int, Redaction]]:
    """Number sequences in the call's word stream, as (utterance, span) for each utterance a
    sequence touches; a span runs from the utterance's first digit of it to its last."""
    words = [s.token.word for s in stream]
    filler = _fillers(words, tuple(options.number_fillers))
    found: list[tuple[int, Redaction]] = []
    for run in _digit_group_runs(stream, filler, options):
        members = [i for i in run if not filler[i]]
        digits = "".join(stream[i].token.digits or "" for i in members)
        before, after = _neighbour(words, filler, run[0], -1), _neighbour(words, filler, run[-1], 1)
        if not _reads_as_number(digits, before, after, options):
            continue
        by_source: dict[int, list[_Token]] = {}
        for i in members:
            by_source.setdefault(stream[i].source, []).append(stream[i].token)
        logger.debug("number sequence of %d digits over %d utterance(s)", len(digits), len(by_source))
        for source, tokens in by_source.items():
            span = Redaction("number_sequence", min(t.start for t in tokens), max(t.end for t in tokens))
            found.append((source, span))
    return found


def _digit_group_runs(stream: Sequence[_Spoken], filler: Sequence[bool], options: RedactionOptions) -> list[list[int]]:
    """Stream indices of each run of digit tokens with only fillers between them, from a digit to
    a digit; a run that would outgrow the span limits ends and the next one starts."""
    runs: list[list[int]] = []
    run: list[int] = []
    for i, spoken in enumerate(stream):
        if not spoken.claimed and filler[i]:
            if run:
                run.append(i)
            continue
        if spoken.claimed or spoken.token.digits is None:
            if run:
                runs.append(run)
            run = []
            continue
        if run and (
            i - run[0] >= options.number_max_span_words
            or spoken.end_s - stream[run[0]].start_s > options.number_max_span_s
        ):
            runs.append(run)
            run = []
        run.append(i)
    if run:
        runs.append(run)
    for run in runs:
        while filler[run[-1]]:
            run.pop()
    return runs


def _reads_as_number(digits: str, before: str, after: str, options: RedactionOptions) -> bool:
    """Whether digits read out in a row are an ID, not years, a date, a time or an amount."""
    return (
        len(digits) >= options.number_min_digits
        and not _is_calendar(digits)
        and before not in _QUANTITY_BEFORE
        and after not in _QUANTITY_AFTER
    )


def _is_calendar(digits: str) -> bool:
    """Years ("2019 and 2020") or one date ("12 05 2025", "2025 12 05") read out."""
    if len(digits) % 4 == 0 and all(_plausible_year(int(digits[i : i + 4])) for i in range(0, len(digits), 4)):
        return True
    if len(digits) != 8:
        return False
    orders = (  # (year, month, day): ISO, US and European order
        (digits[:4], digits[4:6], digits[6:]),
        (digits[4:], digits[:2], digits[2:4]),
        (digits[4:], digits[2:4], digits[:2]),
    )
    return any(_plausible_year(int(y)) and _valid_date(int(y), int(m), int(d)) for y, m, d in orders)


def _neighbour(words: Sequence[str], filler: Sequence[bool], index: int, step: int) -> str:
    """The nearest word beside `index` that is no filler ("" at either end of the stream)."""
    i = index + step
    while 0 <= i < len(words) and filler[i]:
        i += step
    return words[i] if 0 <= i < len(words) else ""


def _canonical(word: str) -> str:
    # Whisper writes "last one" as "last 1": a filler phrase matches either spelling.
    return _EN_DIGITS.get(word, word)


@functools.lru_cache(maxsize=16)
def _filler_phrases(fillers: tuple[str, ...]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Filler phrases by their first word, longest first."""
    unique = {tuple(_canonical(w) for w in f.lower().split()) for f in fillers if f.split()}
    phrases = sorted(unique, key=len, reverse=True)
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        by_first.setdefault(phrase[0], []).append(phrase)
    return {first: tuple(group) for first, group in by_first.items()}


def _fillers(words: Sequence[str], fillers: tuple[str, ...]) -> list[bool]:
    """Which words belong to a filler phrase; at each word the longest phrase that fits wins."""
    phrases = _filler_phrases(fillers)
    canonical = [_canonical(w) for w in words]
    marked = [False] * len(words)
    i = 0
    while i < len(words):
        fit = next((p for p in phrases.get(canonical[i], ()) if tuple(canonical[i : i + len(p)]) == p), ())
        marked[i : i + len(fit)] = [True] * len(fit)
        i += max(len(fit), 1)
    return marked


def redact_text(text: str, options: RedactionOptions | None = None) -> RedactedText:
    """Mask every PII span of `text` with its type's mask, e.g. "[CARD]"."""
    return _masked(text, find_pii(text, options))


def _masked(text: str, spans: Sequence[Redaction]) -> RedactedText:
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


def word_offsets(text: str, words: Sequence[HasText]) -> list[tuple[int, int] | None]:
    """Character span of each word inside `text`, found in order (None when a word is missing).
    Any word with a `.text` will do (the pipeline's `Word`, the stored `WordResult`)."""
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


def redact_utterances(
    utterances: Sequence[Utterance], options: RedactionOptions | None = None
) -> tuple[RedactedUtterance, ...]:
    """Redact each utterance of a call. Number sequences are found across utterances and
    parties (the words of all of them merged by time); each utterance masks its part of one."""
    spans = _find_in_utterances(utterances, options or RedactionOptions())
    return tuple(_redact_words(u, _masked(u.text, found)) for u, found in zip(utterances, spans, strict=True))


def redact_utterance(utterance: Utterance, options: RedactionOptions | None = None) -> RedactedUtterance:
    """Redact one utterance on its own (a number it shares with the next one is found only by
    `redact_utterances`)."""
    return redact_utterances([utterance], options)[0]


def _redact_words(utterance: Utterance, redacted: RedactedText) -> RedactedUtterance:
    """Mask an utterance's words along its redacted text; the words of one span become one masked
    word spanning their times, so no digit of a card survives in the word list."""
    if not redacted.redactions:
        return RedactedUtterance(utterance, utterance, (), ())
    offsets = word_offsets(utterance.text, utterance.words)
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
