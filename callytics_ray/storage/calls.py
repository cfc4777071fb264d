"""Calls, their audio and results: create, read, list, search, save an analysis, delete."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from callytics_ray.errors import LeaseLostError, NotFoundError
from callytics_ray.headline import headline
from callytics_ray.result import CallAnalysis
from callytics_ray.storage import search as fts
from callytics_ray.storage.base import Repository, find_call, writes
from callytics_ray.storage.filters import as_utc, call_conditions
from callytics_ray.storage.models import (
    NEWEST_FIRST, CallFilter, CallPage, CallRecord, CallSort, SearchHit, SearchPage,
)
from callytics_ray.storage.sorting import call_order
from callytics_ray.storage.tables import (
    AlertAttemptRow, AlertDeliveryRow, Analysis, Call, CallAssessment, CallAudio, CallCategory, CallScorecard,
    CallStatus, Job, RedactedCallAudio, Utterance, Word, utcnow,
)


class CallRepository(Repository):
    """Calls and what belongs to them: audio, the analysis, utterances, words, the text index."""

    @writes
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
            return CallRecord.model_validate(find_call(session, call_id, tenant))

    def get_calls(self, call_ids: list[str], *, tenant: str | None = None) -> list[CallRecord]:
        """The calls among `call_ids` (visible to `tenant`), in the order given."""
        with Session(self.engine) as session:
            return self._calls_in_order(session, call_ids, CallFilter(tenant=tenant))

    @staticmethod
    def _calls_in_order(session: Session, call_ids: list[str], filters: CallFilter) -> list[CallRecord]:
        if not call_ids:
            return []
        rows = session.exec(select(Call).where(Call.id.in_(call_ids), *call_conditions(filters))).all()
        by_id = {r.id: r for r in rows}
        return [CallRecord.model_validate(by_id[i]) for i in call_ids if i in by_id]

    @staticmethod
    def _calls_sorted(session: Session, call_ids: list[str], filters: CallFilter, sort: CallSort) -> list[CallRecord]:
        if not call_ids:
            return []
        rows = session.exec(
            select(Call).where(Call.id.in_(call_ids), *call_conditions(filters)).order_by(*call_order(sort))
        ).all()
        return [CallRecord.model_validate(r) for r in rows]

    def get_request_json(self, call_id: str) -> str | None:
        """The request metadata stored with the call at submission (None when there was none)."""
        with Session(self.engine) as session:
            return find_call(session, call_id, None).request_json

    @writes
    def set_status(self, call_id: str, status: str, *, error: str | None = None) -> None:
        if status not in CallStatus.ALL:
            raise ValueError(f"unknown call status {status!r}")
        with Session(self.engine) as session:
            call = find_call(session, call_id, None)
            call.status, call.error, call.updated_at = status, error, utcnow()
            session.add(call)
            session.commit()

    @writes
    def delete_call(self, call_id: str, *, tenant: str | None = None) -> None:
        with Session(self.engine) as session:
            call = find_call(session, call_id, tenant)
            fts.unindex_call(session.connection(), call_id)
            deliveries = select(AlertDeliveryRow.id).where(AlertDeliveryRow.call_id == call_id)
            session.exec(delete(AlertAttemptRow).where(AlertAttemptRow.delivery_id.in_(deliveries)))
            for table in (Word, Utterance, Analysis, Job, CallAudio, RedactedCallAudio, CallScorecard, CallCategory,
                          CallAssessment, AlertDeliveryRow):
                session.exec(delete(table).where(table.call_id == call_id))
            session.delete(call)
            session.commit()

    # --- listing and search ----------------------------------------------------------------

    def list_calls(
        self, filters: CallFilter | None = None, *, sort: CallSort = NEWEST_FIRST, limit: int = 50, offset: int = 0
    ) -> CallPage:
        """The calls passing `filters`, in the order of `sort` (newest first by default)."""
        conditions = call_conditions(filters or CallFilter())
        with Session(self.engine) as session:
            total = session.exec(select(func.count()).select_from(Call).where(*conditions)).one()
            rows = session.exec(
                select(Call).where(*conditions).order_by(*call_order(sort)).offset(offset).limit(limit)
            ).all()
            return CallPage(
                items=[CallRecord.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
            )

    def search(self, query: str, *, tenant: str | None = None, limit: int = 20) -> list[SearchHit]:
        """Utterances matching every word of `query`, best first."""
        with Session(self.engine) as session:
            return fts.search_utterances(session.connection(), query, tenant=tenant, limit=limit)

    def search_calls(
        self, query: str, filters: CallFilter | None = None, *, max_hits: int, sort: CallSort | None = None,
        limit: int = 50, offset: int = 0,
    ) -> SearchPage:
        """The calls passing `filters` whose transcript matches `query`, best match first (or in
        the order of `sort`, when given).

        Only the best `max_hits` utterances are looked at, so `total` counts the calls among them.
        The page carries the hits that belong to its calls.
        """
        filters = filters or CallFilter()
        with Session(self.engine) as session:
            hits = fts.search_utterances(session.connection(), query, tenant=filters.tenant, limit=max_hits)
            ranked = list(dict.fromkeys(h.call_id for h in hits))
            if sort is None:
                matching = self._calls_in_order(session, ranked, filters)
            else:
                matching = self._calls_sorted(session, ranked, filters, sort)
        page = matching[offset : offset + limit]
        shown = {r.id for r in page}
        return SearchPage(items=page, total=len(matching), limit=limit, offset=offset, query=query,
                          hits=[h for h in hits if h.call_id in shown])

    # --- results ---------------------------------------------------------------------------

    @writes
    def save_analysis(
        self,
        analysis: CallAnalysis,
        *,
        tenant: str = "default",
        status: str = CallStatus.COMPLETED,
        error: str | None = None,
        lease_holder: str | None = None,
    ) -> None:
        """Store (or replace) a call's analysis, utterances and words; creates the call if new.

        Args:
            lease_holder: the worker that ran the call under a lease (`JobRepository.claim_call`).
                The result is stored only while that worker still holds the lease, checked in the
                same transaction (the row is locked on PostgreSQL; SQLite has one writer at a
                time): a worker that stalled past its lease while another took the call over
                cannot store a second result.

        Raises:
            LeaseLostError: `lease_holder` no longer holds the call's lease; nothing was written.
        """
        with Session(self.engine) as session:
            call = session.exec(select(Call).where(Call.id == analysis.call_id).with_for_update()).first()
            if lease_holder is not None and (call is None or call.claimed_by != lease_holder):
                raise LeaseLostError(analysis.call_id, lease_holder)
            if call is None:
                call = Call(id=analysis.call_id, tenant=tenant, source_name=analysis.source,
                            created_at=as_utc(analysis.created_at))
            write_analysis(session, call, analysis, status=status, error=error)
            session.commit()

    def get_analysis(self, call_id: str, *, tenant: str | None = None) -> CallAnalysis:
        with Session(self.engine) as session:
            find_call(session, call_id, tenant)
            row = session.get(Analysis, call_id)
            if row is None:
                raise NotFoundError(f"call {call_id} has no result yet")
            return CallAnalysis.model_validate_json(row.result_json)

    def get_audio_media(self, call_id: str, *, tenant: str | None = None) -> tuple[bytes, str | None, str | None]:
        """The stored recording of `tenant`'s call as (data, content type, filename).

        Raises:
            NotFoundError: no such call for this tenant, or it has no stored audio.
        """
        with Session(self.engine) as session:
            call = find_call(session, call_id, tenant)
            row = session.get(CallAudio, call_id)
            if row is None:
                raise NotFoundError(_no_audio(call))
            return bytes(row.data), row.content_type, row.filename

    def get_audio(self, call_id: str) -> tuple[bytes, str | None]:
        with Session(self.engine) as session:
            row = session.get(CallAudio, call_id)
            if row is None:
                raise NotFoundError(_no_audio(find_call(session, call_id, None)))
            return bytes(row.data), row.filename


def write_analysis(session: Session, call: Call, analysis: CallAnalysis, *, status: str, error: str | None,
                   replace_variant: bool = False) -> None:
    """Write `analysis` as `call`'s result (its row, utterances, words, text index) in `session`'s
    transaction, without committing: `save_analysis`, and a re-analysis backfill's chunk.

    Args:
        replace_variant: take the analysis's variant even when it has none (a call re-analysed by
            the default recognizer is no longer on its A/B arm); by default a run without one
            keeps the call's.
    """
    call.status, call.error, call.updated_at = status, error, utcnow()
    call.duration_s = analysis.audio.duration_s if analysis.audio else None
    call.language = analysis.language
    call.language_probability = analysis.language_probability
    call.variant = analysis.variant if replace_variant else (analysis.variant or call.variant)
    call_sentiment = getattr(analysis, "sentiment", None)
    if call_sentiment is not None:
        call.sentiment_label = call_sentiment.label
        call.sentiment_score = call_sentiment.score
    facts = headline(analysis)
    call.agent_talk_share = facts.agent_talk_share
    call.agent_interruptions = facts.agent_interruptions
    call.agent_speaking_rate_wpm = facts.agent_speaking_rate_wpm
    call.flags = "".join(f",{f.value}" for f in facts.flags) + "," if facts.flags else None
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


def _no_audio(call: Call) -> str:
    if call.original_audio_deleted_at is not None:
        deleted = as_utc(call.original_audio_deleted_at).isoformat(timespec="seconds")
        return f"call {call.id} has no stored audio: its original recording was deleted by retention at {deleted}"
    return f"call {call.id} has no stored audio"
