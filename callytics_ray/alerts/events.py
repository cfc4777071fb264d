"""The body of a webhook: which call matched which category, the evidence (what was said, by whom,
when) and the call's headline facts, so a receiver can act without calling the API back."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from callytics_ray.alerts.models import EVENT_TYPE
from callytics_ray.analytics import CategoryMatch, Evidence
from callytics_ray.result import CallAnalysis


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MatchedCategory(_Model):
    name: str
    description: str = ""
    category_set: str | None = None
    set_version: int | None = None


class CallFacts(_Model):
    """What is known of the call when it finished (None: the stage did not run or failed)."""

    id: str
    source: str | None = None
    created_at: datetime
    duration_s: float | None = None
    language: str | None = None
    agent_id: str | None = None
    customer_id: str | None = None
    sentiment: str | None = None
    sentiment_score: float | None = None
    summary: str | None = None
    topics: list[str] = []
    outcome: str | None = None
    resolved: bool | None = None


class AlertEvent(_Model):
    """The JSON POSTed to a webhook. `id` is the delivery id (also the X-Callytics-Delivery
    header): the same on every retry and redelivery, so a receiver can drop duplicates."""

    type: str = EVENT_TYPE
    id: str
    created_at: datetime
    tenant: str
    alert: str
    call: CallFacts
    category: MatchedCategory
    evidence: list[Evidence] = []


def call_facts(analysis: CallAnalysis, *, agent_id: str | None = None, customer_id: str | None = None) -> CallFacts:
    summary = analysis.analysis
    return CallFacts(
        id=analysis.call_id, source=analysis.source, created_at=analysis.created_at,
        duration_s=analysis.audio.duration_s if analysis.audio else None, language=analysis.language,
        agent_id=agent_id, customer_id=customer_id,
        sentiment=analysis.sentiment.label if analysis.sentiment else None,
        sentiment_score=analysis.sentiment.score if analysis.sentiment else None,
        summary=summary.summary if summary else None, topics=summary.topics if summary else [],
        outcome=summary.outcome if summary else None, resolved=summary.resolved if summary else None,
    )


def alert_event(delivery_id: str, *, tenant: str, alert: str, call: CallFacts, match: CategoryMatch,
                created_at: datetime) -> AlertEvent:
    return AlertEvent(
        id=delivery_id, created_at=created_at, tenant=tenant, alert=alert, call=call,
        category=MatchedCategory(name=match.category, description=match.description,
                                 category_set=match.category_set, set_version=match.set_version),
        evidence=match.evidence,
    )
