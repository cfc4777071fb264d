"""Stage jobs and leases: what ran how often, who runs a call now, and what to resume or retry."""

from __future__ import annotations

import time

from sqlalchemy import or_, update
from sqlmodel import Session, select

from callytics_ray.storage.base import Repository, find_call, writes
from callytics_ray.storage.filters import call_conditions
from callytics_ray.storage.models import CallFilter, StageState
from callytics_ray.storage.tables import Call, CallAudio, CallStatus, Job, utcnow

_UNFINISHED = (CallStatus.QUEUED, CallStatus.PROCESSING)


class JobRepository(Repository):
    """Per-stage states of calls, and the leases that let one worker of many run each call."""

    # --- stage jobs ------------------------------------------------------------------------

    @writes
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
                select(Call.id).where(Call.status.in_(_UNFINISHED)).order_by(Call.created_at).limit(limit)
            ).all()
            return list(rows)

    # --- leases and retries ----------------------------------------------------------------

    @writes
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

    @writes
    def renew_lease(self, call_id: str, worker_id: str, lease_s: float) -> bool:
        """Extend a lease this worker holds; False when it was lost (another worker took over)."""
        statement = (
            update(Call)
            .where(Call.id == call_id, Call.claimed_by == worker_id)
            .values(lease_until=time.time() + lease_s)
        )
        with self.engine.begin() as conn:
            return conn.execute(statement).rowcount == 1

    @writes
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

    @writes
    def requeue_call(self, call_id: str, *, tenant: str | None = None) -> bool:
        """Put a failed or partial call back in the queue (and drop any stale lease).

        Returns:
            False when the call is in another state; concurrent retries thus start one run.

        Raises:
            NotFoundError: no such call (for this tenant).
        """
        statement = (
            update(Call)
            .where(
                Call.id == call_id,
                Call.status.in_((CallStatus.FAILED, CallStatus.PARTIAL)),
                *call_conditions(CallFilter(tenant=tenant)),
            )
            .values(status=CallStatus.QUEUED, error=None, claimed_by=None, lease_until=None, updated_at=utcnow())
        )
        with self.engine.begin() as conn:
            if conn.execute(statement).rowcount == 1:
                # A retry starts over: its stages get a fresh attempt budget.
                conn.execute(update(Job).where(Job.call_id == call_id).values(attempts=0))
                return True
        with Session(self.engine) as session:
            find_call(session, call_id, tenant)  # a missing call raises; one in another state is False
        return False
