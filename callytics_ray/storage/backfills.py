"""Backfill jobs: their durable state (job, chunks, counts, the driver's lease) and the one
transaction that stores a chunk's results, so an interrupted job resumes without redoing or
double-counting what it finished."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field
from sqlalchemy import delete, func, insert, or_, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from callytics_ray.analytics import CategoryMatch, Scorecard
from callytics_ray.errors import NotFoundError
from callytics_ray.result import CallAnalysis
from callytics_ray.storage.base import Repository, find_call, writes
from callytics_ray.storage.calls import write_analysis
from callytics_ray.storage.filters import as_utc, call_conditions
from callytics_ray.storage.models import AudioRedaction, CallFilter
from callytics_ray.storage.recordings import write_redaction
from callytics_ray.storage.tables import (
    Analysis,
    Backfill,
    BackfillChunk,
    BackfillStatus,
    Call,
    CallAssessment,
    CallCategory,
    CallScorecard,
    CallStatus,
    RedactedCallAudio,
    utcnow,
)

BackfillKind = Literal["rescore", "recategorize", "reassess", "reanalyze", "redact_audio"]
# Kinds that run stored audio through the pipeline's stages (heavy: small chunks, bounded
# concurrency) rather than assess stored analyses (pure Python).
AUDIO_KINDS = frozenset({"reanalyze", "redact_audio"})
# What a backfill replaces in each call's stored results: nothing, the rows of the named rubrics
# (category sets) only, or all of them (the ones "in force" now replace whatever was there).
ReplaceMode = Literal["none", "named", "all"]

# Only a finished call has an analysis to score (as POST /v1/calls/{id}/scorecard:rescore).
_SCORABLE = (CallStatus.COMPLETED, CallStatus.PARTIAL)


class ConfigRef(BaseModel):
    """One version of a rubric or category set."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: int = Field(ge=0)


class BackfillFilter(BaseModel):
    """Which of the tenant's finished calls a backfill covers (all fields combine with AND)."""

    model_config = ConfigDict(extra="forbid")

    created_after: datetime | None = None
    created_before: datetime | None = None
    agent_id: str | None = None
    language: str | None = None

    def call_filter(self, tenant: str) -> CallFilter:
        return CallFilter(tenant=tenant, **self.model_dump())


class BackfillSpec(BaseModel):
    """What a backfill applies, resolved to exact versions when it is created."""

    model_config = ConfigDict(frozen=True)

    kind: BackfillKind
    rubrics_mode: ReplaceMode
    rubrics: tuple[ConfigRef, ...] = ()
    category_sets_mode: ReplaceMode
    category_sets: tuple[ConfigRef, ...] = ()
    filter: BackfillFilter = BackfillFilter()
    reason: str | None = None
    variant: str | None = None
    asr_model: str | None = None


class BackfillRecord(BaseModel):
    """A backfill job as stored, with its progress."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant: str
    kind: BackfillKind
    rubrics: list[ConfigRef]
    category_sets: list[ConfigRef]
    filter: BackfillFilter
    reason: str | None = None
    variant: str | None = Field(None, description="reanalyze: the A/B variant whose recognizer runs the calls "
                                "again (none: the default recognizer)")
    asr_model: str | None = Field(None, description="reanalyze: the recognizer's model, when it was asked for by name")
    status: str
    chunk_size: int
    chunks: int
    total: int
    done: int
    failed: int
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    updated_at: datetime
    finished_at: datetime | None = None
    runs: int = Field(description="times a driver started the job (1, plus one per resume)")
    executor: str | None = Field(None, description="where the last run computed its chunks: `threads` (in the "
                                 "gateway's process, no Ray) or `ray` (actors on the app's Ray cluster)")
    run_started_at: float | None = Field(None, exclude=True)
    run_started_processed: int = Field(0, exclude=True)
    claimed_by: str | None = Field(None, exclude=True)
    rubrics_mode: ReplaceMode = Field(exclude=True)
    category_sets_mode: ReplaceMode = Field(exclude=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def processed(self) -> int:
        """Calls finished so far (stored or failed)."""
        return self.done + self.failed

    @computed_field  # type: ignore[prop-decorator]
    @property
    def progress(self) -> float:
        """Share of the calls processed, 0 to 1 (1 for a job over no calls)."""
        return round(self.processed / self.total, 4) if self.total else 1.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def calls_per_s(self) -> float | None:
        """Calls processed per second by the current (or last) run; None before one started."""
        if self.run_started_at is None:
            return None
        end = self.finished_at.timestamp() if self.finished_at else self.updated_at.timestamp()
        if self.status in BackfillStatus.ACTIVE:
            end = time.time()
        seconds = end - self.run_started_at
        count = self.processed - self.run_started_processed
        return round(count / seconds, 2) if seconds > 0 and count > 0 else 0.0

    @classmethod
    def of(cls, row: Backfill) -> BackfillRecord:
        return cls.model_validate({
            **row.model_dump(), "created_at": as_utc(row.created_at), "updated_at": as_utc(row.updated_at),
            "started_at": as_utc(row.started_at) if row.started_at else None,
            "finished_at": as_utc(row.finished_at) if row.finished_at else None,
            "rubrics": json.loads(row.rubrics_json), "category_sets": json.loads(row.category_sets_json),
            "filter": json.loads(row.filter_json),
        })


class ChunkWork(BaseModel):
    """One pending chunk of a job: what a worker computes."""

    model_config = ConfigDict(frozen=True)

    backfill_id: str
    position: int
    call_ids: tuple[str, ...]


class AnalysisProvenance(BaseModel):
    """Which recognizer variant and models made an analysis (`CallAnalysis.variant`, `.models`)."""

    variant: str | None = None
    models: dict[str, str] = {}

    @classmethod
    def of(cls, analysis: CallAnalysis) -> AnalysisProvenance:
        return cls(variant=analysis.variant, models=dict(analysis.models))


class ReanalysedCall(BaseModel):
    """A call's new analysis, with the status and error the call is stored with."""

    analysis: CallAnalysis
    status: str
    error: str | None = None


class RedactedCopy(BaseModel):
    """A call's new redacted recording: its description and, for state "redacted", its bytes."""

    redaction: AudioRedaction
    data: bytes | None = None


class CallOutcome(BaseModel):
    """One call's new results (the parts the job applies; None: not applied), or why it failed.

    Attributes:
        reanalysed / redacted_copy: what a `reanalyze` / `redact_audio` job stores for the call.
        previous: the analysis stored before a re-analysis (replaced, or kept on an error),
            recorded in the chunk's outcomes.
    """

    call_id: str
    scorecards: list[Scorecard] | None = None
    categories: list[CategoryMatch] | None = None
    reanalysed: ReanalysedCall | None = None
    redacted_copy: RedactedCopy | None = None
    previous: AnalysisProvenance | None = None
    error: str | None = None

    def record(self) -> CallOutcomeRecord:
        return CallOutcomeRecord(
            call_id=self.call_id, error=self.error, previous=self.previous,
            analysis=AnalysisProvenance.of(self.reanalysed.analysis) if self.reanalysed else None,
            status=self.reanalysed.status if self.reanalysed else None,
            redacted_audio=self.redacted_copy.redaction.state if self.redacted_copy else None,
        )


class CallOutcomeRecord(BaseModel):
    """What a backfill did to one call, as stored with its chunk."""

    call_id: str
    error: str | None = Field(None, description="why the call was left as it was (e.g. its original recording "
                              "was deleted by retention)")
    previous: AnalysisProvenance | None = Field(None, description="reanalyze: the analysis stored before the job "
                                                "(replaced, or kept when `error` says why)")
    analysis: AnalysisProvenance | None = Field(None, description="reanalyze: the analysis stored now")
    status: str | None = Field(None, description="reanalyze: the call's status after it (completed or partial)")
    redacted_audio: str | None = Field(None, description="the redacted copy's state when the job stored one: "
                                       "redacted, identical (no PII) or unavailable")


class ChunkResult(BaseModel):
    """A computed chunk, ready to be stored in one transaction."""

    backfill_id: str
    position: int
    outcomes: list[CallOutcome]

    @property
    def done(self) -> int:
        """Calls assessed."""
        return sum(1 for o in self.outcomes if o.error is None)

    @property
    def failed(self) -> int:
        """Calls that could not be assessed (their errors are stored with them)."""
        return len(self.outcomes) - self.done


class BackfillRepository(Repository):
    """Backfill jobs and their chunks."""

    @writes
    def create_backfill(self, spec: BackfillSpec, *, tenant: str, chunk_size: int) -> BackfillRecord:
        """Fix the job's calls (the tenant's finished calls that pass `spec.filter`, oldest first)
        in chunks of `chunk_size`, and store it `queued` (`done` at once when there are none)."""
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
        with Session(self.engine) as session:
            query = select(Call.id).where(Call.status.in_(_SCORABLE), *call_conditions(spec.filter.call_filter(tenant)))
            if spec.kind == "redact_audio":  # only the calls that have no copy yet
                query = query.outerjoin(RedactedCallAudio, RedactedCallAudio.call_id == Call.id).where(
                    RedactedCallAudio.call_id.is_(None))
            call_ids = session.exec(query.order_by(Call.created_at, Call.id)).all()
            chunks = [call_ids[i:i + chunk_size] for i in range(0, len(call_ids), chunk_size)]
            row = Backfill(
                id=str(uuid.uuid4()), tenant=tenant, kind=spec.kind, reason=spec.reason,
                rubrics_mode=spec.rubrics_mode, rubrics_json=_refs_json(spec.rubrics),
                category_sets_mode=spec.category_sets_mode, category_sets_json=_refs_json(spec.category_sets),
                filter_json=spec.filter.model_dump_json(), chunk_size=chunk_size, chunks=len(chunks),
                total=len(call_ids), variant=spec.variant, asr_model=spec.asr_model,
            )
            if not call_ids:
                row.status, row.finished_at = BackfillStatus.DONE, utcnow()
            session.add(row)
            session.flush()
            session.add_all(BackfillChunk(backfill_id=row.id, position=i, call_ids_json=json.dumps(ids))
                            for i, ids in enumerate(chunks))
            session.commit()
            session.refresh(row)
            return BackfillRecord.of(row)

    def get_backfill(self, backfill_id: str, *, tenant: str | None = None) -> BackfillRecord:
        """Raises NotFoundError: no such job (for this tenant)."""
        with Session(self.engine) as session:
            row = session.get(Backfill, backfill_id)
            if row is None or (tenant is not None and row.tenant != tenant):
                raise NotFoundError(f"backfill {backfill_id} not found")
            return BackfillRecord.of(row)

    def list_backfills(self, *, tenant: str, status: str | None = None, limit: int = 50) -> list[BackfillRecord]:
        """The tenant's jobs, newest first."""
        with Session(self.engine) as session:
            query = select(Backfill).where(Backfill.tenant == tenant)
            if status is not None:
                query = query.where(Backfill.status == status)
            rows = session.exec(query.order_by(Backfill.created_at.desc(), Backfill.id).limit(limit)).all()
            return [BackfillRecord.of(r) for r in rows]

    def resumable_backfills(self, *, limit: int = 20) -> list[str]:
        """Queued or running jobs that no driver holds a live lease on, oldest first."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(Backfill.id)
                .where(Backfill.status.in_(BackfillStatus.ACTIVE),
                       or_(Backfill.claimed_by.is_(None), Backfill.lease_until < time.time()))
                .order_by(Backfill.created_at).limit(limit)
            ).all()
            return list(rows)

    def pending_backfill_chunks(self, backfill_id: str) -> list[ChunkWork]:
        """The chunks whose results are not stored yet, in order."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(BackfillChunk.position, BackfillChunk.call_ids_json)
                .where(BackfillChunk.backfill_id == backfill_id, BackfillChunk.status == "pending")
                .order_by(BackfillChunk.position)
            ).all()
            return [ChunkWork(backfill_id=backfill_id, position=p, call_ids=tuple(json.loads(ids))) for p, ids in rows]

    def backfill_outcomes(self, backfill_id: str, *, tenant: str | None = None) -> list[CallOutcomeRecord]:
        """What the job did to each call of its stored chunks, in chunk order.

        Raises:
            NotFoundError: no such job (for this tenant).
        """
        self.get_backfill(backfill_id, tenant=tenant)
        with Session(self.engine) as session:
            rows = session.exec(
                select(BackfillChunk.outcomes_json)
                .where(BackfillChunk.backfill_id == backfill_id, BackfillChunk.outcomes_json.is_not(None))
                .order_by(BackfillChunk.position)
            ).all()
        return [CallOutcomeRecord.model_validate(o) for raw in rows for o in json.loads(raw)]

    def stored_analyses(self, call_ids: list[str] | tuple[str, ...]) -> dict[str, str]:
        """The stored analysis JSON of each of `call_ids` that has one (one query)."""
        with Session(self.engine) as session:
            rows = session.exec(select(Analysis.call_id, Analysis.result_json)
                                .where(Analysis.call_id.in_(list(call_ids)))).all()
            return dict(rows)

    # --- the driver's lease ------------------------------------------------------------------

    @writes
    def claim_backfill(self, backfill_id: str, worker_id: str, lease_s: float, *, executor: str | None = None) -> bool:
        """Become the job's driver: one conditional UPDATE, so of several claimants one wins.

        Returns:
            False when the job is finished, gone, or another driver holds a live lease.
        """
        now = time.time()
        with self.engine.begin() as conn:
            return conn.execute(
                update(Backfill)
                .where(Backfill.id == backfill_id, Backfill.status.in_(BackfillStatus.ACTIVE),
                       or_(Backfill.claimed_by.is_(None), Backfill.lease_until < now))
                .values(status=BackfillStatus.RUNNING, claimed_by=worker_id, lease_until=now + lease_s,
                        runs=Backfill.runs + 1, run_started_at=now, executor=executor,
                        run_started_processed=Backfill.done + Backfill.failed,
                        started_at=func.coalesce(Backfill.started_at, utcnow()), updated_at=utcnow())
            ).rowcount == 1

    @writes
    def renew_backfill(self, backfill_id: str, worker_id: str, lease_s: float) -> bool:
        """Extend this driver's lease; False when the job was cancelled or another driver took it."""
        with self.engine.begin() as conn:
            return conn.execute(
                update(Backfill)
                .where(Backfill.id == backfill_id, Backfill.claimed_by == worker_id,
                       Backfill.status == BackfillStatus.RUNNING)
                .values(lease_until=time.time() + lease_s)
            ).rowcount == 1

    @writes
    def release_backfill(self, backfill_id: str, worker_id: str) -> None:
        """Give up the lease without finishing (shutdown): the next reconciler resumes it at once."""
        with self.engine.begin() as conn:
            conn.execute(update(Backfill).where(Backfill.id == backfill_id, Backfill.claimed_by == worker_id)
                         .values(claimed_by=None, lease_until=None))

    # --- progress ----------------------------------------------------------------------------

    @writes
    def store_backfill_chunk(self, result: ChunkResult, *, worker_id: str, lease_s: float) -> bool:
        """Store a chunk's results, mark it done and count its calls, in one transaction.

        Only while `worker_id` drives the running job and the chunk is still pending: otherwise
        (cancelled, another driver took over, already stored) nothing changes.

        Returns:
            whether the chunk was stored; False tells the driver to stop.
        """
        with Session(self.engine) as session:
            job = session.get(Backfill, result.backfill_id)
            if job is not None and job.kind in AUDIO_KINDS:
                result = _still_finished(session, result)
            done, failed = result.done, result.failed
            conn = session.connection()
            counted = conn.execute(
                update(Backfill)
                .where(Backfill.id == result.backfill_id, Backfill.claimed_by == worker_id,
                       Backfill.status == BackfillStatus.RUNNING)
                .values(done=Backfill.done + done, failed=Backfill.failed + failed, updated_at=utcnow(),
                        lease_until=time.time() + lease_s)
            ).rowcount == 1
            marked = counted and conn.execute(
                update(BackfillChunk)
                .where(BackfillChunk.backfill_id == result.backfill_id, BackfillChunk.position == result.position,
                       BackfillChunk.status == "pending")
                .values(status="done", done=done, failed=failed, finished_at=utcnow(),
                        outcomes_json=json.dumps([o.record().model_dump(mode="json", exclude_none=True)
                                                  for o in result.outcomes]))
            ).rowcount == 1
            if not marked:
                session.rollback()
                return False
            if job.kind in AUDIO_KINDS:
                _store_audio_outcomes(session, result.outcomes)
                # Only a new analysis is assessed; a call left as it was keeps its assessment (its
                # error is the job's, not the scoring's), and a redacted copy changes no score.
                assessed = [o for o in result.outcomes if o.error is None and o.reanalysed is not None]
            else:
                assessed = result.outcomes
            _store_outcomes(conn, job, assessed)
            session.commit()
            return True

    @writes
    def end_backfill(self, backfill_id: str, worker_id: str, *, error: str | None = None) -> BackfillRecord:
        """Finish this driver's run: `failed` with `error`, else `done` when no chunk is pending
        (a run that stopped early leaves the job to be resumed)."""
        with Session(self.engine) as session:
            row = session.get(Backfill, backfill_id)
            if row is None:
                raise NotFoundError(f"backfill {backfill_id} not found")
            if row.claimed_by == worker_id and row.status == BackfillStatus.RUNNING:
                pending = session.exec(select(func.count()).where(
                    BackfillChunk.backfill_id == backfill_id, BackfillChunk.status == "pending")).one()
                if error is not None:
                    row.status, row.error = BackfillStatus.FAILED, error
                elif pending == 0:
                    row.status = BackfillStatus.DONE
                if row.status != BackfillStatus.RUNNING:
                    row.finished_at = row.updated_at = utcnow()
                row.claimed_by, row.lease_until = None, None
                session.add(row)
                session.commit()
                session.refresh(row)
            return BackfillRecord.of(row)

    @writes
    def cancel_backfill(self, backfill_id: str, *, tenant: str | None = None) -> tuple[BackfillRecord, bool]:
        """Cancel a queued or running job: its driver stops before storing another chunk.

        Returns:
            (the job, whether this call cancelled it); a finished job is returned unchanged.

        Raises:
            NotFoundError: no such job (for this tenant).
        """
        self.get_backfill(backfill_id, tenant=tenant)
        with self.engine.begin() as conn:
            cancelled = conn.execute(
                update(Backfill)
                .where(Backfill.id == backfill_id, Backfill.status.in_(BackfillStatus.ACTIVE))
                .values(status=BackfillStatus.CANCELLED, finished_at=utcnow(), updated_at=utcnow())
            ).rowcount == 1
        return self.get_backfill(backfill_id), cancelled


def _still_finished(session: Session, result: ChunkResult) -> ChunkResult:
    """The chunk with each call that was deleted, re-run or leased since it was computed turned
    into an error outcome: its new analysis or copy would overwrite a newer one. Its row is
    locked until the chunk commits (PostgreSQL; SQLite has one writer at a time)."""
    ids = [o.call_id for o in result.outcomes if o.error is None]
    idle = set(session.exec(
        select(Call.id).where(Call.id.in_(ids), Call.status.in_(_SCORABLE), Call.claimed_by.is_(None))
        .with_for_update()
    ).all()) if ids else set()
    outcomes = [o if o.error is not None or o.call_id in idle else
                o.model_copy(update={"reanalysed": None, "redacted_copy": None, "scorecards": None, "categories": None,
                                     "error": "the call was deleted, retried or is running since the chunk began"})
                for o in result.outcomes]
    return result.model_copy(update={"outcomes": outcomes})


def _store_audio_outcomes(session: Session, outcomes: list[CallOutcome]) -> None:
    """A re-analysis replaces the call's analysis (and status); either kind stores its new copy."""
    for outcome in outcomes:
        if outcome.error is not None:
            continue
        if outcome.reanalysed is not None:
            new = outcome.reanalysed
            write_analysis(session, find_call(session, outcome.call_id, None), new.analysis, status=new.status,
                           error=new.error, replace_variant=True)
        if outcome.redacted_copy is not None:
            write_redaction(session, outcome.call_id, outcome.redacted_copy.redaction, outcome.redacted_copy.data)
    session.flush()


def _refs_json(refs: tuple[ConfigRef, ...]) -> str:
    return json.dumps([r.model_dump() for r in refs])


def _store_outcomes(conn: Connection, job: Backfill, outcomes: list[CallOutcome]) -> None:
    """Replace what the job applies in the chunk's calls' stored results, set-based: a handful of
    statements per chunk, not per call (the driver's writes are the serial part of a job). A call
    deleted since the job was created is skipped; a call that failed keeps its earlier results
    (they still describe its stored analysis) and gets the error."""
    tenants = dict(conn.execute(select(Call.id, Call.tenant).where(Call.id.in_([o.call_id for o in outcomes]))).all())
    outcomes = [o for o in outcomes if o.call_id in tenants]
    if not outcomes:
        return
    now = utcnow()
    assessed = set(conn.execute(select(CallAssessment.call_id)
                                .where(CallAssessment.call_id.in_(list(tenants)))).scalars())
    fresh = [{"call_id": o.call_id, "tenant": tenants[o.call_id], "assessed_at": now, "error": o.error}
             for o in outcomes if o.call_id not in assessed]
    if fresh:
        conn.execute(insert(CallAssessment), fresh)
    ok = [o for o in outcomes if o.error is None]
    if ok_again := [o.call_id for o in ok if o.call_id in assessed]:
        conn.execute(update(CallAssessment).where(CallAssessment.call_id.in_(ok_again))
                     .values(assessed_at=now, error=None))
    for o in outcomes:
        if o.error is not None and o.call_id in assessed:
            conn.execute(update(CallAssessment).where(CallAssessment.call_id == o.call_id)
                         .values(assessed_at=now, error=o.error))
    ids = [o.call_id for o in ok]
    if job.rubrics_mode != "none" and ids:
        _replace(conn, CallScorecard, CallScorecard.rubric, ids, job.rubrics_mode,
                 [r["name"] for r in json.loads(job.rubrics_json)],
                 [{"call_id": o.call_id, "tenant": tenants[o.call_id], "rubric": card.rubric,
                   "rubric_version": card.rubric_version, "score": card.score,
                   "scorecard_json": card.model_dump_json()} for o in ok for card in o.scorecards or []])
    if job.category_sets_mode != "none" and ids:
        _replace(conn, CallCategory, CallCategory.category_set, ids, job.category_sets_mode,
                 [c["name"] for c in json.loads(job.category_sets_json)],
                 [{"call_id": o.call_id, "tenant": tenants[o.call_id], "category_set": m.category_set or "",
                   "set_version": m.set_version or 0, "category": m.category, "match_json": m.model_dump_json()}
                  for o in ok for m in o.categories or []])


def _replace(conn: Connection, table, name_column, call_ids: list[str], mode: ReplaceMode, names: list[str],
             rows: list[dict]) -> None:
    statement = delete(table).where(table.call_id.in_(call_ids))
    if mode == "named":
        statement = statement.where(name_column.in_(names))
    conn.execute(statement)
    if rows:
        conn.execute(insert(table), rows)
