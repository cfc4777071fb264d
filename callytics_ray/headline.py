"""A call's headline facts: the figures and flags that calls are listed, filtered, sorted and
aggregated per agent by. The one place that reads them off the analysis.

Usage:
    >>> facts = headline(analysis)
    >>> facts.agent_talk_share, [f.value for f in facts.flags]
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from callytics_ray.result import CallAnalysis

# A silence this long is one a caller notices (and QA rubrics ask to be announced as a hold).
LONG_SILENCE_S = 10.0
# Interrupting the customer this often in one call is what team leads look for in coaching.
AGENT_INTERRUPTIONS = 3


class CallFlag(str, Enum):
    """What makes a call worth a reviewer's look. The values are stored and used in URLs."""

    CONFLICT = "conflict"  # the analyzer found an argument or escalation
    NEGATIVE_CUSTOMER = "negative_customer"  # the customer's overall sentiment is negative
    UNRESOLVED = "unresolved"  # the analyzer says the customer's issue was not resolved
    LONG_SILENCE = "long_silence"  # a silence of LONG_SILENCE_S or more
    INTERRUPTIONS = "interruptions"  # the agent interrupted AGENT_INTERRUPTIONS times or more
    PII = "pii"  # personal data was found (and redacted)
    STAGE_ERROR = "stage_error"  # a stage failed: the analysis is partial


@dataclass(frozen=True)
class CallHeadline:
    """The headline facts of one analysed call; None where the analysis has no such figure."""

    agent_talk_share: float | None
    agent_interruptions: int | None
    agent_speaking_rate_wpm: float | None
    flags: tuple[CallFlag, ...]


def headline(analysis: CallAnalysis) -> CallHeadline:
    """The headline facts of `analysis` (any stage may be missing: its facts are then None)."""
    quality, flags = analysis.quality, []
    agent_share = agent_interruptions = agent_rate = None
    if quality is not None:
        agent_share = quality.talk_share_by_role.get("agent")
        agents = [s for s in quality.speakers if s.role == "agent"]
        if agents:
            agent_interruptions = sum(s.interruptions_made for s in agents)
            talk = sum(s.talk_time_s for s in agents)
            # Several agent speakers (a transfer): their rate weighted by how long each talked.
            agent_rate = (sum(s.speaking_rate_wpm * s.talk_time_s for s in agents) / talk) if talk > 0 else None
        if quality.longest_silence_s >= LONG_SILENCE_S:
            flags.append(CallFlag.LONG_SILENCE)
        if agent_interruptions is not None and agent_interruptions >= AGENT_INTERRUPTIONS:
            flags.append(CallFlag.INTERRUPTIONS)
    if analysis.analysis is not None:
        if analysis.analysis.conflict.flag:
            flags.append(CallFlag.CONFLICT)
        if analysis.analysis.resolved is False:
            flags.append(CallFlag.UNRESOLVED)
    if analysis.sentiment is not None and any(
        s.role == "customer" and s.label == "negative" for s in analysis.sentiment.speakers
    ):
        flags.append(CallFlag.NEGATIVE_CUSTOMER)
    if analysis.redactions:
        flags.append(CallFlag.PII)
    if analysis.errors:
        flags.append(CallFlag.STAGE_ERROR)
    order = list(CallFlag)
    return CallHeadline(
        agent_talk_share=agent_share,
        agent_interruptions=agent_interruptions,
        agent_speaking_rate_wpm=agent_rate,
        flags=tuple(sorted(flags, key=order.index)),
    )
