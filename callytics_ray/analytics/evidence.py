"""What a rule, category or scorecard item found, and where: the evidence every result carries.

Times are seconds from the start of the call; `utterance` indexes `CallAnalysis.segments`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvidenceWord(_Model):
    text: str
    start: float
    end: float


class PhraseEvidence(_Model):
    """A phrase said in one utterance: the matched words and their times."""

    kind: Literal["phrase"] = "phrase"
    utterance: int
    speaker: str | None = None
    role: str | None = None
    start: float = Field(description="start of the first matched word")
    end: float = Field(description="end of the last matched word")
    phrase: str = Field(description="the rule's phrase that matched")
    text: str = Field(description="the words as said")
    words: list[EvidenceWord]
    negated: bool = False
    score: float | None = Field(default=None, description="fuzzy similarity 0-100 (fuzzy matches only)")


class UtteranceEvidence(_Model):
    """A whole utterance (e.g. the customer's first negative one)."""

    kind: Literal["utterance"] = "utterance"
    utterance: int
    speaker: str | None = None
    role: str | None = None
    start: float
    end: float
    text: str
    sentiment: str | None = None
    sentiment_score: float | None = None


class MetricEvidence(_Model):
    """A call metric and the comparison it was put to."""

    kind: Literal["metric"] = "metric"
    metric: str
    value: float
    op: str
    threshold: float


class SilenceEvidence(_Model):
    """A stretch where nobody talked."""

    kind: Literal["silence"] = "silence"
    start: float
    end: float
    duration_s: float


Evidence = Annotated[
    PhraseEvidence | UtteranceEvidence | MetricEvidence | SilenceEvidence, Field(discriminator="kind")
]


class RuleResult(_Model):
    """The outcome of one rule on one call.

    Attributes:
        matched: True or False, or None when the call lacks a fact the rule needs (no roles,
            no sentiment, no quality metrics): then `unknown` says which, and nothing is guessed.
        evidence: what was found (for a rule that did not match, what its parts found).
    """

    matched: bool | None
    evidence: list[Evidence] = []
    unknown: str | None = None
