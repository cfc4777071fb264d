"""What a judge of rubric questions (an LLM) answers about one call, once its quote is verified.

Shared floor between the analytics package (which scores rubric `llm` items and must not know
any LLM) and the llm stage (which asks the model and checks its quote against the transcript).
Every pass or fail carries where its quote sits in the stored transcript; anything a judge could
not back with a quote is `not_assessed`, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from callytics_ray.result import CallAnalysis

Verdict = Literal["pass", "fail", "not_assessed"]


@dataclass(frozen=True, slots=True)
class QuoteSpan:
    """Where a verified quote sits: `CallAnalysis.segments[utterance]`, its words
    `first_word..last_word` (inclusive; None when the utterance has no word timings, then the
    whole utterance is the evidence).

    Attributes:
        quote: the quote as the judge gave it.
        similarity: how closely the transcript's words match it, 0-100 (rapidfuzz ratio).
    """

    utterance: int
    first_word: int | None
    last_word: int | None
    quote: str
    similarity: float


@dataclass(frozen=True, slots=True)
class Judgement:
    """The answer to one question. `quote` is set exactly when `verdict` is pass or fail."""

    verdict: Verdict
    reason: str
    quote: QuoteSpan | None = None

    @classmethod
    def unassessed(cls, reason: str) -> Judgement:
        return cls(verdict="not_assessed", reason=reason)


class ItemJudge(Protocol):
    """Answers rubric questions about one call, one `Judgement` per question, in order.

    Implementations never raise for a failing model or endpoint: they answer not_assessed with
    the reason (`callytics_ray.llm.judge.RubricJudge` is the LLM one).
    """

    def judge(self, questions: Sequence[str], analysis: CallAnalysis) -> list[Judgement]: ...
