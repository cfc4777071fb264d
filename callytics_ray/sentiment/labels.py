"""Per-utterance sentiment as stage data."""

from __future__ import annotations

from dataclasses import dataclass

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class Sentiment:
    """Sentiment of one text.

    Attributes:
        label: "negative", "neutral" or "positive".
        score: signed polarity in [-1, 1] (P(positive) - P(negative) for the classifiers).
        probabilities: (negative, neutral, positive).
    """

    label: str
    score: float
    probabilities: tuple[float, float, float]

    @classmethod
    def from_probabilities(cls, probabilities: tuple[float, float, float]) -> Sentiment:
        neg, neu, pos = (float(p) for p in probabilities)
        best = max(range(3), key=lambda k: (neg, neu, pos)[k])
        return cls(LABELS[best], round(pos - neg, 4), (neg, neu, pos))
