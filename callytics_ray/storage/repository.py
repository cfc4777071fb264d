"""CallStore: every read and write of calls, their results, audio and stage states."""

from __future__ import annotations

import logging
import uuid
from datetime import timezone

from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from callytics_ray.errors import NotFoundError
from callytics_ray.result import CallAnalysis
from callytics_ray.storage import search as fts
from callytics_ray.storage.db import make_engine, ping
from callytics_ray.storage.models import CallFilter, CallPage, CallRecord, SearchHit, StageState
from callytics_ray.storage.tables import Analysis, Call, CallAudio, CallStatus, Job, Utterance, Word, utcnow

logger = logging.getLogger(__name__)


class CallStore:
    """Repository over one engine. Thread-safe: every method opens its own session.

    Example:
        >>> store = CallStore.from_url("sqlite:///callytics.db")
        >>> store.save_analysis(analysis)
        >>> store.list_calls(CallFilter(language="en")).items
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False) -> CallStore:
        return cls(make_engine(url, echo=echo))

    def ping(self) -> None:
        ping(self.engine)

    # --- calls -------------------------------------------------------------------------------

    def create_call(
        self,
        *,
        tenant: str = "default",
        call_id: str | None = None,
        source_name: str | None = None,
        audio: bytes | None = None,
        content_type: str | None = None,
        agent_id: str | None = None,
        customer_id: str | None = None,
        idempotency_key: str | None = None,
        variant: str | None = None,
        request_json: str | None = None,
        stages: tuple[str, ...] = (),
    ) -> tuple[CallRecord, bool]:
        """Store a new call (and its audio and pending stage jobs) in one transaction.

        Returns:
            (record, created): `created` is False when `idempotency_key` named an existing call,
            which is then returned unchanged.
        """
        if idempotency_key:
            existing = self._find_idempotent(tenant, idempotency_key)
            if existing is not None:
                return existing, False
        call = Call(
            id=call_id or str(uuid.uuid4()),
            tenant=tenant,
            source_name=source_name,
            agent_id=agent_id,
            customer_id=customer_id,
            idempotency_key=idempotency_key,
            variant=variant,
            request_json=request_json,
        )
        try:
            with Session(self.engine) as session:
                session.add(call)
                session.flush()
                if audio is not None:
                    session.add(
                        CallAudio(
                            call_id=call.id, filename=source_name, content_type=content_type,
                            size_bytes=len(audio), data=audio,
                        )
                    )
                for stage in stages:
                    session.add(Job(call_id=call.id, stage=stage))
                session.commit()
                session.refresh(call)
                return CallRecord.model_validate(call), True
        except IntegrityError:
            if idempotency_key:  # lost a race with the same key: the winner's call is the answer
                existing = self._find_idempotent(tenant, idempotency_key)
                if existing is not None:
                    return existing, False
            raise

    def _find_idempotent(self, tenant: str, key: str) -> CallRecord | None:
        with Session(self.engine) as session:
            row = session.exec(select(Call).where(Call.tenant == tenant, Call.idempotency_key == key)).first()
            return CallRecord.model_validate(row) if row else None

    def get_call(self, call_id: str, *, tenant: str | None = None) -> CallRecord:
        with Session(self.engine) as session:
            return CallRecord.model_validate(self._call(session, call_id, tenant))

    @staticmethod
    def _call(session: Session, call_id: str, tenant: str | None) -> Call:
        call = session.get(Call, call_id)
        # Another tenant's call is reported exactly like a missing one: no existence leak.
        if call is None or (tenant is not None and call.tenant != tenant):
            raise NotFoundError(f"call {call_id} not found")
        return call

    def set_status(self, call_id: str, status: str, *, error: str | None = None) -> None:
        if status not in CallStatus.ALL:
            raise ValueError(f"unknown call status {status!r}")
        with Session(self.engine) as session:
            call = self._call(session, call_id, None)
            call.status, call.error, call.updated_at = status, error, utcnow()
            session.add(call)
            session.commit()

    def delete_call(self, call_id: str, *, tenant: str | None = None) -> None:
        with Session(self.engine) as session:
            call = self._call(session, call_id, tenant)
            fts.unindex_call(session.connection(), call_id)
            for table in (Word, Utterance, Analysis, Job, CallAudio):
                session.exec(delete(table).where(table.call_id == call_id))
            session.delete(call)
            session.commit()

    def list_calls(self, filters: CallFilter | None = None, *, limit: int = 50, offset: int = 0) -> CallPage:
        filters = filters or CallFilter()
        conditions = []
        for column, value in (
            (Call.tenant, filters.tenant),
            (Call.language, filters.language),
            (Call.agent_id, filters.agent_id),
            (Call.customer_id, filters.customer_id),
            (Call.sentiment_label, filters.sentiment),
            (Call.status, filters.status),
        ):
            if value is not None:
                conditions.append(column == value)
        if filters.created_after is not None:
            conditions.append(Call.created_at >= _aware(filters.created_after))
        if filters.created_before is not None:
            conditions.append(Call.created_at < _aware(filters.created_before))
        if filters.min_duration_s is not None:
            conditions.append(Call.duration_s >= filters.min_duration_s)
        if filters.max_duration_s is not None:
            conditions.append(Call.duration_s <= filters.max_duration_s)
        with Session(self.engine) as session:
            total = session.exec(select(func.count()).select_from(Call).where(*conditions)).one()
            rows = session.exec(
                select(Call).where(*conditions).order_by(Call.created_at.desc(), Call.id).offset(offset).limit(limit)
            ).all()
            return CallPage(
                items=[CallRecord.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
            )

    def search(self, query: str, *, tenant: str | None = None, limit: int = 20) -> list[SearchHit]:
        with Session(self.engine) as session:
            return fts.search_utterances(session.connection(), query, tenant=tenant, limit=limit)

    # --- results ---------------------------------------------------------------------------

    def save_analysis(
        self,
        analysis: CallAnalysis,
        *,
        tenant: str = "default",
        status: str = CallStatus.COMPLETED,
        error: str | None = None,
    ) -> None:
        """Store (or replace) a call's analysis, utterances and words; creates the call if new."""
        with Session(self.engine) as session:
            call = session.get(Call, analysis.call_id)
            if call is None:
                call = Call(id=analysis.call_id, tenant=tenant, source_name=analysis.source,
                            created_at=_aware(analysis.created_at))
            call.status, call.error, call.updated_at = status, error, utcnow()
            call.duration_s = analysis.audio.duration_s if analysis.audio else None
            call.language = analysis.language
            call.language_probability = analysis.language_probability
            call.variant = analysis.variant or call.variant
            call_sentiment = getattr(analysis, "sentiment", None)
            if call_sentiment is not None:
                call.sentiment_label = call_sentiment.label
                call.sentiment_score = call_sentiment.score
            session.add(call)
            session.flush()
            fts.unindex_call(session.connection(), call.id)
            session.exec(delete(Word).where(Word.call_id == call.id))
            session.exec(delete(Utterance).where(Utterance.call_id == call.id))
            index_rows: list[tuple[int, str, str]] = []
            for position, segment in enumerate(analysis.segments):
                utterance = Utterance(
                    call_id=call.id, position=position, start=segment.start, end=segment.end,
                    speaker=segment.speaker, role=segment.role, channel=segment.channel, text=segment.text,
                    sentiment_label=segment.sentiment.label if segment.sentiment else None,
                    sentiment_score=segment.sentiment.score if segment.sentiment else None,
                )
                session.add(utterance)
                session.flush()
                session.add_all(
                    Word(call_id=call.id, utterance_id=utterance.id, position=i, start=w.start, end=w.end,
                         text=w.text[:256], probability=w.probability)
                    for i, w in enumerate(segment.words)
                )
                index_rows.append((utterance.id, call.id, segment.text))
            fts.index_utterances(session.connection(), index_rows)
            row = session.get(Analysis, call.id) or Analysis(call_id=call.id, result_json="")
            row.result_json, row.created_at = analysis.model_dump_json(exclude_none=True), utcnow()
            session.add(row)
            session.commit()

    def get_analysis(self, call_id: str, *, tenant: str | None = None) -> CallAnalysis:
        with Session(self.engine) as session:
            self._call(session, call_id, tenant)
            row = session.get(Analysis, call_id)
            if row is None:
                raise NotFoundError(f"call {call_id} has no result yet")
            return CallAnalysis.model_validate_json(row.result_json)

    def get_audio(self, call_id: str) -> tuple[bytes, str | None]:
        with Session(self.engine) as session:
            row = session.get(CallAudio, call_id)
            if row is None:
                raise NotFoundError(f"call {call_id} has no stored audio")
            return bytes(row.data), row.filename

    # --- stage jobs ------------------------------------------------------------------------

    def set_stage(
        self, call_id: str, stage: str, status: str, *, error: str | None = None, seconds: float | None = None
    ) -> None:
        with Session(self.engine) as session:
            job = session.exec(select(Job).where(Job.call_id == call_id, Job.stage == stage)).first()
            job = job or Job(call_id=call_id, stage=stage)
            if status == "running":
                job.attempts += 1
            job.status, job.error, job.updated_at = status, error, utcnow()
            if seconds is not None:
                job.seconds = seconds
            session.add(job)
            session.commit()

    def stage_states(self, call_id: str) -> list[StageState]:
        with Session(self.engine) as session:
            rows = session.exec(select(Job).where(Job.call_id == call_id).order_by(Job.id)).all()
            return [StageState.model_validate(r) for r in rows]

    def unfinished_calls(self, *, limit: int = 100) -> list[str]:
        """Calls accepted but not finished (queued or processing), oldest first: what to resume."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(Call.id)
                .where(Call.status.in_((CallStatus.QUEUED, CallStatus.PROCESSING)))
                .order_by(Call.created_at)
                .limit(limit)
            ).all()
            return list(rows)


def _aware(value):
    """SQLite drops time zones; compare everything as UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
