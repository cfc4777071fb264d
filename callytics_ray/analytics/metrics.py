"""Call metrics a rule can compare: sentiment, silence, overtalk, talk share, duration,
interruptions. Read off the stored analysis (its quality and sentiment stages), never recomputed.

A metric the call lacks (its stage failed, or no roles are known) is None, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import fmean
from typing import Literal, get_args

from callytics_ray.headline import headline
from callytics_ray.result import CallAnalysis

MetricName = Literal[
    "duration_s",
    "call_sentiment",
    "agent_sentiment",
    "customer_sentiment",
    "customer_sentiment_change",
    "longest_silence_s",
    "silence_ratio",
    "overtalk_s",
    "overtalk_ratio",
    "agent_talk_share",
    "customer_talk_share",
    "interruptions",
    "agent_interruptions",
    "customer_interruptions",
    "agent_longest_interruption_s",
    "agent_speaking_rate_wpm",
]
METRIC_NAMES: tuple[str, ...] = get_args(MetricName)


class MissingMetric(Exception):
    """The call has no value for a metric; the message says why."""


def _quality(analysis: CallAnalysis):
    if analysis.quality is None:
        raise MissingMetric("the call has no quality metrics")
    return analysis.quality


def _sentiment(analysis: CallAnalysis):
    if analysis.sentiment is None:
        raise MissingMetric("the call has no sentiment")
    return analysis.sentiment


def _role_sentiment(role: str) -> Callable[[CallAnalysis], float]:
    def value(analysis: CallAnalysis) -> float:
        scores = [s.score for s in _sentiment(analysis).speakers if s.role == role]
        if not scores:
            raise MissingMetric(f"no speaker of the call is known as the {role}")
        return fmean(scores)

    return value


def _talk_share(role: str) -> Callable[[CallAnalysis], float]:
    def value(analysis: CallAnalysis) -> float:
        share = _quality(analysis).talk_share_by_role.get(role)
        if share is None:
            raise MissingMetric(f"no speaker of the call is known as the {role}")
        return share

    return value


def _speakers_of(analysis: CallAnalysis, role: str) -> list:
    speakers = [s for s in _quality(analysis).speakers if s.role == role]
    if not speakers:
        raise MissingMetric(f"no speaker of the call is known as the {role}")
    return speakers


def _interruptions_by(role: str) -> Callable[[CallAnalysis], float]:
    return lambda analysis: float(sum(s.interruptions_made for s in _speakers_of(analysis, role)))


def _agent_longest_interruption(analysis: CallAnalysis) -> float:
    agents = {s.speaker for s in _speakers_of(analysis, "agent")}
    return max((i.overlap_s for i in _quality(analysis).interruptions if i.interrupter in agents), default=0.0)


def _headline_figure(name: str) -> Callable[[CallAnalysis], float]:
    """An agent figure of `callytics_ray.headline` (the one place that reads those)."""

    def value(analysis: CallAnalysis) -> float:
        _quality(analysis)
        figure = getattr(headline(analysis), name)
        if figure is None:
            raise MissingMetric("no speaker of the call is known as the agent")
        return float(figure)

    return value


def _duration(analysis: CallAnalysis) -> float:
    if analysis.audio is not None:
        return analysis.audio.duration_s
    return _quality(analysis).duration_s


_METRICS: dict[str, Callable[[CallAnalysis], float]] = {
    "duration_s": _duration,
    "call_sentiment": lambda a: _sentiment(a).score,
    "agent_sentiment": _role_sentiment("agent"),
    "customer_sentiment": _role_sentiment("customer"),
    "customer_sentiment_change": lambda a: _sentiment(a).change,
    "longest_silence_s": lambda a: _quality(a).longest_silence_s,
    "silence_ratio": lambda a: _quality(a).silence_ratio,
    "overtalk_s": lambda a: _quality(a).overtalk_s,
    "overtalk_ratio": lambda a: _quality(a).overtalk_ratio,
    "agent_talk_share": _headline_figure("agent_talk_share"),
    "customer_talk_share": _talk_share("customer"),
    "interruptions": lambda a: float(len(_quality(a).interruptions)),
    "agent_interruptions": _headline_figure("agent_interruptions"),
    "customer_interruptions": _interruptions_by("customer"),
    "agent_longest_interruption_s": _agent_longest_interruption,
    "agent_speaking_rate_wpm": _headline_figure("agent_speaking_rate_wpm"),
}


def metric_value(name: MetricName, analysis: CallAnalysis) -> float:
    """The value of metric `name` on the call.

    Raises:
        MissingMetric: the call lacks what the metric is read from.
    """
    return float(_METRICS[name](analysis))
