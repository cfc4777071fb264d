"""The call page's parties and transcript: who spoke (one colour each on the whole page), and each
utterance as the pieces the page shows, with every redacted span masked.

Redaction spans (`CallAnalysis.redactions`) are character offsets into the stored segment text.
That text holds the mask itself ("[CARD]") when redaction ran before storage, and the original
words when it did not; either way the page shows the span as a styled mask, never its characters,
and a word that overlaps a span is masked in the word-by-word transcript as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from callytics_ray.result import CallAnalysis, PiiType, RedactionResult, SegmentResult, WordResult
from callytics_ray.text.redaction import MASKS, word_offsets

# console.css has --spk0..5 (charts.js wraps around the same way).
PALETTE_SIZE = 6

# How the page names each kind of redacted span ("card number redacted").
PII_NAMES: dict[PiiType, str] = {
    "card": "card number",
    "phone": "phone number",
    "email": "e-mail address",
    "ssn": "social security number",
    "kr_rrn": "resident registration number",
    "account_number": "account number",
    "number_sequence": "number",
}

# What every mask looks like on the page: the same length whatever it hides.
MASK_GLYPHS = "█" * 6
_MASK_TOKENS = {token: kind for kind, token in MASKS.items()}
_MASK_TOKEN = re.compile("|".join(re.escape(t) for t in MASKS.values()))


def mask_html(kind: PiiType, start: float | None = None, end: float | None = None) -> Markup:
    """A redacted span as the page shows it; with times, it is one of the transcript's words
    (console.js seeks to it and highlights it while it plays)."""
    name = f"{PII_NAMES[kind]} redacted"
    seek = Markup(' data-seek="{0}" data-end="{1}"').format(start, end) if start is not None else Markup("")
    return Markup('<span class="{0}redacted" data-pii="{1}" title="{2}"{3}><span class="sr-only">{2}</span>'
                  '<span aria-hidden="true">{4}</span></span>').format(
        "w " if start is not None else "", kind, name, seek, MASK_GLYPHS)


def show_masks(text: str | None) -> Markup:
    """`text` HTML-escaped, with the masks redaction wrote into it ("[CARD]") shown as masks:
    the summary, reason and evidence are written from the redacted transcript."""
    out, last = [], 0
    for match in _MASK_TOKEN.finditer(text or ""):
        out += [escape(text[last:match.start()]), mask_html(_MASK_TOKENS[match.group(0)])]  # type: ignore[index]
        last = match.end()
    out.append(escape((text or "")[last:]))
    return Markup("").join(out)


@dataclass(frozen=True)
class Speaker:
    """One party of the call: `key` is the speaker label ("" for speech nobody was assigned)."""

    key: str
    role: str | None
    colour: int
    role_is_unique: bool = True  # no other party has this role: the role alone names it

    @property
    def label(self) -> str:
        if not self.key:
            return self.role.capitalize() if self.role else "Unattributed"
        return f"{self.role.capitalize()} ({self.key})" if self.role else self.key

    @property
    def short_label(self) -> str:
        """The role alone where that names the party (for chart labels with little room)."""
        return self.role.capitalize() if self.role and self.role_is_unique else self.label


class Speakers:
    """The call's parties in order of first appearance; that order gives each its colour."""

    def __init__(self, analysis: CallAnalysis) -> None:
        roles: dict[str, str | None] = {}

        def add(key: str | None, role: str | None) -> None:
            key = key or ""
            if key not in roles or roles[key] is None:
                roles[key] = role

        for segment in analysis.segments:
            add(segment.speaker, segment.role)
        for party in analysis.speakers or ():
            add(party.speaker, party.role)
        for party in analysis.sentiment.speakers if analysis.sentiment else ():
            add(party.speaker, party.role)
        for party in analysis.quality.speakers if analysis.quality else ():
            add(party.speaker, party.role)
        taken = [role for role in roles.values() if role]
        self._by_key = {key: Speaker(key, role, i % PALETTE_SIZE, taken.count(role) <= 1)
                        for i, (key, role) in enumerate(roles.items())}

    def __iter__(self):
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def get(self, key: str | None) -> Speaker:
        return self._by_key.get(key or "") or Speaker(key or "", None, len(self._by_key) % PALETTE_SIZE)


@dataclass(frozen=True)
class Piece:
    """What the transcript shows: a word (with its times), plain text, or a mask (`redacted`)."""

    text: str
    start: float | None = None
    end: float | None = None
    redacted: PiiType | None = None


@dataclass(frozen=True)
class TranscriptLine:
    """One utterance. `word_by_word`: the pieces are its words (each seeks the audio)."""

    segment: SegmentResult
    speaker: Speaker
    pieces: list[Piece]
    word_by_word: bool


def transcript_lines(analysis: CallAnalysis, speakers: Speakers) -> list[TranscriptLine]:
    spans: dict[int, list[RedactionResult]] = {}
    for span in analysis.redactions or ():
        spans.setdefault(span.segment, []).append(span)
    lines = []
    for index, segment in enumerate(analysis.segments):
        pieces, word_by_word = masked_pieces(segment, spans.get(index, []))
        lines.append(TranscriptLine(segment, speakers.get(segment.speaker), pieces, word_by_word))
    return lines


def masked_pieces(segment: SegmentResult, spans: Sequence[RedactionResult]) -> tuple[list[Piece], bool]:
    """The pieces of `segment` with `spans` masked; (pieces, word_by_word).

    Words are used when each word can be placed in the text (so the spans it overlaps are known)
    and each span covers at least one word; otherwise the text is shown with the spans masked,
    so that a word that cannot be placed never shows what a span hides.
    """
    if segment.words:
        words = _masked_words(segment.text, segment.words, spans)
        if words is not None:
            return words, True
    return _masked_text(segment.text, spans), False


def _masked_text(text: str, spans: Sequence[RedactionResult]) -> list[Piece]:
    pieces, cursor = [], 0
    for start, end, kind in _merged(text, spans):
        if start > cursor:
            pieces.append(Piece(text[cursor:start]))
        pieces.append(Piece("", redacted=kind))
        cursor = end
    if cursor < len(text):
        pieces.append(Piece(text[cursor:]))
    return pieces


def _masked_words(text: str, words: Sequence[WordResult], spans: Sequence[RedactionResult]) -> list[Piece] | None:
    if not spans:
        return [Piece(w.text.strip(), w.start, w.end) for w in words]
    offsets = [o for o in word_offsets(text, words) if o is not None]
    if len(offsets) < len(words):
        return None
    merged = _merged(text, spans)
    owner = [_overlapping(offset, merged) for offset in offsets]
    if {index for index in owner if index is not None} != set(range(len(merged))):
        return None  # a span no word overlaps: only the text shows where it is
    pieces: list[Piece] = []
    for i, word in enumerate(words):
        span = owner[i]
        if span is None:
            pieces.append(Piece(word.text.strip(), word.start, word.end))
        elif i > 0 and owner[i - 1] == span:  # the next word of the same span: one mask for all
            last = pieces[-1]
            pieces[-1] = Piece("", last.start, word.end, last.redacted)
        else:
            pieces.append(Piece("", word.start, word.end, merged[span][2]))
    return pieces


def _overlapping(offset: tuple[int, int], spans: Sequence[tuple[int, int, PiiType]]) -> int | None:
    for index, (start, end, _kind) in enumerate(spans):
        if offset[0] < end and start < offset[1]:
            return index
    return None


def _merged(text: str, spans: Iterable[RedactionResult]) -> list[tuple[int, int, PiiType]]:
    """The spans inside `text`, in order, overlapping ones joined (the first one's kind names it)."""
    out: list[tuple[int, int, PiiType]] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        start, end = max(0, span.start), min(len(text), span.end)
        if end <= start:
            continue
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end), out[-1][2])
        else:
            out.append((start, end, span.type))
    return out
