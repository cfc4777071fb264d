"""What an A/B comparison reads: per-call figures of the calls that record a variant, and their
transcript text."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from callytics_ray.storage.base import Repository
from callytics_ray.storage.filters import call_conditions
from callytics_ray.storage.models import CallFigures, CallFilter
from callytics_ray.storage.tables import Call, Job, Utterance, Word


class ExperimentRepository(Repository):
    """Read-only figures for `callytics_ray.api.experiments` (nothing here writes)."""

    def variant_figures(self, *, tenant: str | None = None) -> list[CallFigures]:
        """Per-call figures of every call that records an A/B variant."""
        conditions = [Call.variant.is_not(None), *call_conditions(CallFilter(tenant=tenant))]
        with Session(self.engine) as session:
            calls = session.exec(
                select(Call.id, Call.variant, Call.status, Call.duration_s, Call.request_json).where(*conditions)
            ).all()
            jobs = session.exec(
                select(Job.call_id, Job.stage, Job.seconds)
                .join(Call, Call.id == Job.call_id)
                .where(*conditions, Job.status == "done")
            ).all()
            words = session.exec(
                select(Word.call_id, func.avg(Word.probability), func.count())
                .join(Call, Call.id == Word.call_id)
                .where(*conditions)
                .group_by(Word.call_id)
            ).all()
        seconds: dict[str, dict[str, float]] = {}
        for call_id, stage, value in jobs:
            if value is not None:
                seconds.setdefault(call_id, {})[stage] = value
        confidence = {call_id: (mean, count) for call_id, mean, count in words}
        figures = []
        for call_id, variant, status, duration_s, request_json in calls:
            stages = seconds.get(call_id, {})
            mean, count = confidence.get(call_id, (None, 0))
            figures.append(
                CallFigures(
                    call_id=call_id, variant=variant, status=status, duration_s=duration_s,
                    asr_s=stages.get("asr"), total_s=sum(stages.values()) if stages else None,
                    mean_word_probability=mean, words=count, request_json=request_json,
                )
            )
        return figures

    def call_texts(self, call_ids: list[str]) -> dict[str, str]:
        """The stored transcript text of each call (utterances in order, joined by spaces)."""
        if not call_ids:
            return {}
        with Session(self.engine) as session:
            rows = session.exec(
                select(Utterance.call_id, Utterance.text)
                .where(Utterance.call_id.in_(call_ids))
                .order_by(Utterance.call_id, Utterance.position)
            ).all()
        texts: dict[str, list[str]] = {}
        for call_id, text in rows:
            texts.setdefault(call_id, []).append(text.strip())
        return {call_id: " ".join(t for t in parts if t) for call_id, parts in texts.items()}
