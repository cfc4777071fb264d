"""Stored calls of agents with known headline facts, for the per-agent figures' tests.

A call is made the way the gateway makes one (`create_call` with the agent, then `save_analysis`);
only its creation time is then moved, so calls can lie on chosen days.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session

from callytics_ray.result import CallSentimentResult, QualityResult, SpeakerQualityResult
from callytics_ray.storage import CallStore
from callytics_ray.storage.tables import Call
from tests.storage.test_store import analysis


def store_agent_call(
    store: CallStore, call_id: str, *, agent: str | None, when: datetime, tenant: str = "acme",
    duration: float = 60.0, sentiment: float = 0.0, talk_share: float = 0.5, interruptions: int = 0,
    rate_wpm: float = 150.0, analysed: bool = True, variant: str | None = None,
) -> None:
    """Store `call_id` for `agent`, created at `when`; analysed with these headline facts unless
    `analysed` is False (then it stays queued)."""
    store.create_call(tenant=tenant, call_id=call_id, agent_id=agent, source_name=f"{call_id}.wav", variant=variant)
    if analysed:
        store.save_analysis(with_facts(analysis(call_id, duration=duration), sentiment=sentiment,
                                       talk_share=talk_share, interruptions=interruptions, rate_wpm=rate_wpm),
                            tenant=tenant)
    with Session(store.engine) as session:
        session.exec(update(Call).where(Call.id == call_id).values(created_at=when))
        session.commit()


def with_facts(call, *, sentiment: float, talk_share: float, interruptions: int, rate_wpm: float):
    """`call` with a call sentiment and quality metrics that give exactly these headline facts."""
    agent = SpeakerQualityResult(speaker="SPEAKER_00", role="agent", talk_time_s=20.0, talk_share=talk_share,
                                 words=int(rate_wpm / 3), speaking_rate_wpm=rate_wpm,
                                 interruptions_made=interruptions)
    customer = SpeakerQualityResult(speaker="SPEAKER_01", role="customer", talk_time_s=10.0,
                                    talk_share=1 - talk_share, words=20, speaking_rate_wpm=120.0, interruptions_made=0)
    quality = QualityResult(duration_s=call.audio.duration_s, talk_share_by_role={"agent": talk_share,
                                                                                "customer": 1 - talk_share},
                            silence_ratio=0.1, longest_silence_s=1.0, overtalk_s=0.0, overtalk_ratio=0.0,
                            speakers=[agent, customer])
    label = "positive" if sentiment > 0.2 else "negative" if sentiment < -0.2 else "neutral"
    call_sentiment = CallSentimentResult(label=label, score=sentiment, method="test")
    return call.model_copy(update={"quality": quality, "sentiment": call_sentiment})
