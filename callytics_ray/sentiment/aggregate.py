"""Sentiment per speaker and for the call, and the customer's trajectory from start to end."""

from __future__ import annotations

from collections.abc import Sequence

from callytics_ray.result import CallSentimentResult, SpeakerSentimentResult, TrajectoryPoint
from callytics_ray.settings import SentimentOptions
from callytics_ray.types import Sentiment, SpeakerRole, Utterance

# Means of per-utterance scores are smaller than single scores; this band keeps a call with one
# mildly positive "thanks" among neutral turns neutral.
_AGGREGATE_NEUTRAL_BAND = 0.15


def _label(score: float) -> str:
    return "positive" if score > _AGGREGATE_NEUTRAL_BAND else "negative" if score < -_AGGREGATE_NEUTRAL_BAND else "neutral"


def _weighted_mean(pairs: Sequence[tuple[Utterance, Sentiment]]) -> float:
    # Weighted by words so a long complaint outweighs a short "okay".
    weights = [max(1, len(u.words) or len(u.text.split())) for u, _ in pairs]
    total = sum(weights)
    return sum(w * s.score for w, (_, s) in zip(weights, pairs, strict=True)) / total if total else 0.0


def trajectory(pairs: Sequence[tuple[Utterance, Sentiment]], points: int) -> list[TrajectoryPoint]:
    """Mean sentiment over `points` consecutive stretches of utterances (fewer for short calls)."""
    pairs = sorted(pairs, key=lambda p: p[0].start)
    points = min(points, len(pairs))
    out: list[TrajectoryPoint] = []
    for k in range(points):
        chunk = pairs[k * len(pairs) // points : (k + 1) * len(pairs) // points]
        score = _weighted_mean(chunk)
        out.append(TrajectoryPoint(start=chunk[0][0].start, end=chunk[-1][0].end, score=round(score, 4), label=_label(score)))
    return out


def summarize_sentiment(
    utterances: Sequence[Utterance],
    sentiments: Sequence[Sentiment],
    roles: Sequence[SpeakerRole],
    *,
    method: str,
    options: SentimentOptions | None = None,
) -> CallSentimentResult:
    """Call-level sentiment from per-utterance sentiment.

    Args:
        utterances: the utterances that were classified.
        sentiments: one per utterance, in the same order.
        roles: who is agent and customer; the customer's trajectory is the call's trajectory.
        method: the classifier that produced `sentiments` (recorded in the result).
    """
    if len(utterances) != len(sentiments):
        raise ValueError(f"{len(utterances)} utterances but {len(sentiments)} sentiments")
    options = options or SentimentOptions()
    role_of = {r.speaker: r.role for r in roles}
    pairs = list(zip(utterances, sentiments, strict=True))
    speakers: list[SpeakerSentimentResult] = []
    for speaker in dict.fromkeys(u.speaker for u in utterances):
        mine = [p for p in pairs if p[0].speaker == speaker]
        score = _weighted_mean(mine)
        speakers.append(
            SpeakerSentimentResult(
                speaker=speaker, role=role_of.get(speaker), label=_label(score), score=round(score, 4),
                trajectory=trajectory(mine, options.trajectory_points),
            )
        )
    customers = {r.speaker for r in roles if r.role == "customer"}
    customer_pairs = [p for p in pairs if p[0].speaker in customers] or pairs
    path = trajectory(customer_pairs, options.trajectory_points) if customer_pairs else []
    score = _weighted_mean(pairs) if pairs else 0.0
    return CallSentimentResult(
        label=_label(score),
        score=round(score, 4),
        speakers=speakers,
        trajectory=path,
        change=round(path[-1].score - path[0].score, 4) if path else 0.0,
        method=method,
    )
