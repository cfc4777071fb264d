"""A call as the rules read it: its utterances as match tokens with times, roles and sentiment.

Built once per call (`Conversation.of`) and shared by every rule, category and scorecard item.
"""

from __future__ import annotations

from dataclasses import dataclass

from callytics_ray.result import CallAnalysis, SegmentResult, SentimentResult
from callytics_ray.text.tokens import TOKEN, normalize


@dataclass(frozen=True, slots=True)
class Token:
    """One token of an utterance: `text` as said (for evidence), `norm` as compared."""

    text: str
    norm: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Turn:
    """One utterance (`CallAnalysis.segments[index]`)."""

    index: int
    speaker: str | None
    role: str | None
    start: float
    end: float
    text: str
    tokens: tuple[Token, ...]
    sentiment: SentimentResult | None


def _tokens(segment: SegmentResult) -> tuple[Token, ...]:
    if segment.words:
        # Word timings are what evidence quotes; a word with punctuation or a hyphen may hold
        # several tokens, which share its time.
        return tuple(
            Token(text=m.group(), norm=normalize(m.group()), start=w.start, end=w.end)
            for w in segment.words
            for m in TOKEN.finditer(w.text.replace("’", "'"))
        )
    # No word timings (an older or edited transcript): the utterance's span is the honest time.
    return tuple(
        Token(text=m.group(), norm=normalize(m.group()), start=segment.start, end=segment.end)
        for m in TOKEN.finditer(segment.text.replace("’", "'"))
    )


@dataclass(frozen=True)
class Conversation:
    """The facts rules are evaluated on.

    Attributes:
        analysis: the call's full analysis (metrics read `quality` and `sentiment` from it).
        turns: the utterances in the order of `analysis.segments`.
        duration_s: length of the call (the audio's, else the quality figures', else the last
            utterance's end), which "last N s" windows count back from.
    """

    analysis: CallAnalysis
    turns: tuple[Turn, ...]
    duration_s: float

    @classmethod
    def of(cls, analysis: CallAnalysis | Conversation) -> Conversation:
        if isinstance(analysis, Conversation):
            return analysis
        turns = tuple(
            Turn(index=i, speaker=s.speaker, role=s.role, start=s.start, end=s.end, text=s.text,
                 tokens=_tokens(s), sentiment=s.sentiment)
            for i, s in enumerate(analysis.segments)
        )
        if analysis.audio is not None:
            duration = analysis.audio.duration_s
        elif analysis.quality is not None:
            duration = analysis.quality.duration_s
        else:
            duration = max((t.end for t in turns), default=0.0)
        return cls(analysis=analysis, turns=turns, duration_s=duration)

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The call's custom vocabulary terms (none when it was accepted without any)."""
        vocabulary = self.analysis.vocabulary
        return tuple(vocabulary.terms) if vocabulary is not None else ()

    @property
    def roles_known(self) -> bool:
        """Whether diarization gave the utterances roles (agent / customer)."""
        return any(t.role in ("agent", "customer") for t in self.turns)

    @property
    def sentiment_known(self) -> bool:
        return any(t.sentiment is not None for t in self.turns)

    def silences(self, min_s: float) -> list[tuple[float, float]]:
        """Stretches of more than `min_s` between speech (anyone's words), in call order. Silence
        before the first or after the last word is no pause in the conversation and is left out,
        as the quality stage's longest silence leaves it out."""
        spans = sorted(
            (tok.start, tok.end) for t in self.turns for tok in (t.tokens or (Token("", "", t.start, t.end),))
        )
        gaps: list[tuple[float, float]] = []
        spoken_until = spans[0][1] if spans else 0.0
        for start, end in spans[1:]:
            if start - spoken_until > min_s:
                gaps.append((spoken_until, start))
            spoken_until = max(spoken_until, end)
        return gaps
