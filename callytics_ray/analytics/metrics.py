"""Call metrics a rule can compare: sentiment, silence and non-talk time, overtalk, talk share,
duration, interruptions, talk speed, loudness per party. Read off the stored analysis (its quality
and sentiment stages), never recomputed.

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
    "customer_speaking_rate_wpm",
    "agent_loudness_lufs",
    "customer_loudness_lufs",
    "customer_max_loudness_lufs",
    "non_talk_time_s",
    "non_talk_ratio",
    "non_talk_instances",
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


def _weighted(speakers: list, field: str) -> float:
    """A role's figure over its speakers (a transfer: several agents), weighted by talk time."""
    talk = sum(s.talk_time_s for s in speakers)
    values = [(getattr(s, field), s.talk_time_s) for s in speakers]
    return sum(v * t for v, t in values) / talk if talk > 0 else values[0][0]


def _speaking_rate(role: str) -> Callable[[CallAnalysis], float]:
    return lambda analysis: _weighted(_speakers_of(analysis, role), "speaking_rate_wpm")


def _loud_speakers(analysis: CallAnalysis, role: str) -> list:
    speakers = [s for s in _speakers_of(analysis, role) if s.loudness_lufs is not None]
    if not speakers:
        raise MissingMetric(f"the {role}'s loudness was not measured (no loudness envelope of the audio)")
    return speakers


def _loudness(role: str) -> Callable[[CallAnalysis], float]:
    return lambda analysis: _weighted(_loud_speakers(analysis, role), "loudness_lufs")


def _max_loudness(role: str) -> Callable[[CallAnalysis], float]:
    """The loudest utterance of the role's speakers (a raised voice)."""

    def value(analysis: CallAnalysis) -> float:
        speakers = _loud_speakers(analysis, role)
        return max((p.lufs for s in speakers for p in s.loudness), default=max(s.loudness_lufs for s in speakers))

    return value


def _non_talk(read: Callable) -> Callable[[CallAnalysis], float]:
    def value(analysis: CallAnalysis) -> float:
        quality = _quality(analysis)
        if quality.non_talk_time_s is None:
            raise MissingMetric("the call was analysed before non-talk time was measured")
        return float(read(quality))

    return value


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
    "customer_speaking_rate_wpm": _speaking_rate("customer"),
    "agent_loudness_lufs": _loudness("agent"),
    "customer_loudness_lufs": _loudness("customer"),
    "customer_max_loudness_lufs": _max_loudness("customer"),
    "non_talk_time_s": _non_talk(lambda q: q.non_talk_time_s),
    "non_talk_ratio": _non_talk(lambda q: q.non_talk_ratio),
    "non_talk_instances": _non_talk(lambda q: len(q.non_talk)),
}


def metric_value(name: MetricName, analysis: CallAnalysis) -> float:
    """The value of metric `name` on the call.

    Raises:
        MissingMetric: the call lacks what the metric is read from.
    """
    return float(_METRICS[name](analysis))
