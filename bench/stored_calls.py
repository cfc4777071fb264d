"""Many stored calls made from ONE real analysis (bench/data/stereo_diarization.analysis.json, the
pipeline's output on /work/shared/data/stereo_diarization.wav, made by `python bench/backfill.py
--make-analysis`), with their own ids, agents and days: cheap to store by the hundred, and what a
backfill reads is what the pipeline writes.

In the recording the agent (left channel) says "He began a confused complaint against the wizard,
who had vanished behind the curtain on the left."; the customer "The horizon seems extremely distant."
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlmodel import Session

from callytics_ray.analytics import CategorySet, Rubric
from callytics_ray.headline import headline
from callytics_ray.result import CallAnalysis
from callytics_ray.storage import CallStatus, CallStore
from callytics_ray.storage.tables import Analysis, Call

REAL_ANALYSIS = Path(__file__).resolve().parent / "data" / "stereo_diarization.analysis.json"
FIRST_DAY = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def real_analysis() -> CallAnalysis:
    return CallAnalysis.model_validate_json(REAL_ANALYSIS.read_text())


def store_copies(store: CallStore, count: int, *, tenant: str = "acme", prefix: str = "call",
                 agents: int = 4) -> list[str]:
    """Store `count` completed calls, copies of the real analysis: call i is `{prefix}-{i:05d}`,
    agent `agent-{i % agents}`, created on day i // 10 after FIRST_DAY (ten calls a day).

    The rows a backfill reads (the call, its analysis JSON) are written as `save_analysis`
    writes them, in one transaction for all: the utterance, word and text-index rows, which a
    backfill never reads, are left out, so hundreds of calls take a second, not a minute.
    """
    base = real_analysis()
    facts = headline(base)
    flags = "".join(f",{f.value}" for f in facts.flags) + "," if facts.flags else None
    ids = [f"{prefix}-{i:05d}" for i in range(count)]
    with Session(store.engine) as session:
        for i, call_id in enumerate(ids):
            session.add(Call(id=call_id, tenant=tenant, agent_id=f"agent-{i % agents}", source_name="stereo.wav",
                             created_at=FIRST_DAY + timedelta(days=i // 10, minutes=i % 10),
                             status=CallStatus.COMPLETED, duration_s=base.audio.duration_s, language=base.language,
                             sentiment_label=base.sentiment.label if base.sentiment else None,
                             agent_talk_share=facts.agent_talk_share, flags=flags))
        session.flush()
        session.add_all(Analysis(call_id=call_id, result_json=base.model_copy(update={"call_id": call_id})
                                 .model_dump_json(exclude_none=True)) for call_id in ids)
        session.commit()
    return ids


def wizard_rubric(phrase: str = "wizard") -> Rubric:
    """One item: the agent says `phrase` (the real agent says "wizard", never "dragon")."""
    return Rubric.model_validate({"name": "qa", "items": [{
        "id": "mentions", "description": f"the agent says {phrase}",
        "check": {"kind": "rule", "rule": {"kind": "phrase", "speaker": "agent", "phrases": [phrase]}}}]})


def horizon_categories() -> CategorySet:
    return CategorySet.model_validate({"name": "topics", "categories": [
        {"name": "horizon", "rule": {"kind": "phrase", "speaker": "customer", "phrases": ["horizon"]}},
        {"name": "refund", "rule": {"kind": "phrase", "phrases": ["refund"]}}]})
