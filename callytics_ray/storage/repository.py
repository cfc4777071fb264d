"""CallStore: every read and write of calls, their results, audio and stage states."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timezone

from sqlalchemy import delete, func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from callytics_ray.errors import NotFoundError
from callytics_ray.result import CallAnalysis
from callytics_ray.storage import search as fts
from callytics_ray.storage.db import make_engine, ping
from callytics_ray.storage.models import CallFigures, CallFilter, CallPage, CallRecord, SearchHit, StageState
from callytics_ray.storage.tables import Analysis, Call, CallAudio, CallStatus, Job, Utterance, Word, utcnow

logger = logging.getLogger(__name__)

_UNFINISHED = (CallStatus.QUEUED, CallStatus.PROCESSING)


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
            conditions.append(Call.created_at >= as_utc(filters.created_after))
        if filters.created_before is not None:
            conditions.append(Call.created_at < as_utc(filters.created_before))
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
                            created_at=as_utc(analysis.created_at))
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

    def most_attempted_stage(self, call_id: str) -> tuple[str, int] | None:
        """The unfinished stage of `call_id` started most often, and how often (None: none started)."""
        with Session(self.engine) as session:
            row = session.exec(
                select(Job.stage, Job.attempts)
                .where(Job.call_id == call_id, Job.status != "done", Job.attempts > 0)
                .order_by(Job.attempts.desc())
            ).first()
            return (row[0], row[1]) if row else None

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


    # --- gateway: leases, retries, experiments -------------------------------------------------

    def claim_call(self, call_id: str, worker_id: str, lease_s: float) -> bool:
        """Take the lease on an unfinished call for `lease_s` seconds.

        One conditional UPDATE, so of several workers racing for the same call exactly one wins.

        Returns:
            False when another worker holds a live lease or the call is finished or gone.
        """
        now = time.time()
        statement = (
            update(Call)
            .where(
                Call.id == call_id,
                Call.status.in_(_UNFINISHED),
                or_(Call.claimed_by.is_(None), Call.lease_until < now),
            )
            .values(claimed_by=worker_id, lease_until=now + lease_s)
        )
        with self.engine.begin() as conn:
            return conn.execute(statement).rowcount == 1

    def renew_lease(self, call_id: str, worker_id: str, lease_s: float) -> bool:
        """Extend a lease this worker holds; False when it was lost (another worker took over)."""
        statement = (
            update(Call)
            .where(Call.id == call_id, Call.claimed_by == worker_id)
            .values(lease_until=time.time() + lease_s)
        )
        with self.engine.begin() as conn:
            return conn.execute(statement).rowcount == 1

    def release_call(self, call_id: str, worker_id: str) -> None:
        """Give up this worker's lease (no-op when it holds none)."""
        statement = (
            update(Call)
            .where(Call.id == call_id, Call.claimed_by == worker_id)
            .values(claimed_by=None, lease_until=None)
        )
        with self.engine.begin() as conn:
            conn.execute(statement)

    def claimable_calls(self, *, limit: int = 100) -> list[str]:
        """Unfinished calls with stored audio that nobody holds a live lease on, oldest first: what a
        reconciler resumes."""
        now = time.time()
        with Session(self.engine) as session:
            # Only calls with stored audio can be rerun from the database alone.
            has_audio = select(CallAudio.call_id).where(CallAudio.call_id == Call.id).exists()
            rows = session.exec(
                select(Call.id)
                .where(
                    Call.status.in_(_UNFINISHED),
                    or_(Call.claimed_by.is_(None), Call.lease_until < now),
                    has_audio,
                )
                .order_by(Call.created_at)
                .limit(limit)
            ).all()
            return list(rows)

    def requeue_call(self, call_id: str, *, tenant: str | None = None) -> bool:
        """Put a failed or partial call back in the queue (and drop any stale lease).

        Returns:
            False when the call is in another state; concurrent retries thus start one run.

        Raises:
            NotFoundError: no such call (for this tenant).
        """
        conditions = [Call.id == call_id, Call.status.in_((CallStatus.FAILED, CallStatus.PARTIAL))]
        if tenant is not None:
            conditions.append(Call.tenant == tenant)
        statement = (
            update(Call)
            .where(*conditions)
            .values(status=CallStatus.QUEUED, error=None, claimed_by=None, lease_until=None, updated_at=utcnow())
        )
        with self.engine.begin() as conn:
            if conn.execute(statement).rowcount == 1:
                # A retry starts over: its stages get a fresh attempt budget.
                conn.execute(update(Job).where(Job.call_id == call_id).values(attempts=0))
                return True
        self.get_call(call_id, tenant=tenant)
        return False

    def get_request_json(self, call_id: str) -> str | None:
        """The request metadata stored with the call at submission (None when there was none)."""
        with Session(self.engine) as session:
            return self._call(session, call_id, None).request_json

    def get_calls(self, call_ids: list[str], *, tenant: str | None = None) -> list[CallRecord]:
        """The calls among `call_ids` (visible to `tenant`), in the order given."""
        if not call_ids:
            return []
        conditions = [Call.id.in_(call_ids)]
        if tenant is not None:
            conditions.append(Call.tenant == tenant)
        with Session(self.engine) as session:
            rows = {r.id: r for r in session.exec(select(Call).where(*conditions)).all()}
            return [CallRecord.model_validate(rows[i]) for i in call_ids if i in rows]

    def variant_figures(self, *, tenant: str | None = None) -> list[CallFigures]:
        """Per-call figures of every call that records an A/B variant."""
        conditions = [Call.variant.is_not(None)]
        if tenant is not None:
            conditions.append(Call.tenant == tenant)
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

def as_utc(value: datetime) -> datetime:
    """SQLite drops time zones; compare everything as UTC (a naive time is taken as UTC)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
