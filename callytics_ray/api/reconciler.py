"""The reconciler: finds accepted calls nobody is running (their worker died, or it never started)
and hands them to a runner again, and runs the retention sweep of original recordings. Leases make
it safe to run one in every gateway replica."""

from __future__ import annotations

import asyncio
import logging

from callytics_ray.api.retention import RetentionSweep
from callytics_ray.api.runner import CallRunner
from callytics_ray.api.stored import load_call_request
from callytics_ray.backfill import BackfillRunner
from callytics_ray.errors import CallyticsError
from callytics_ray.periodic import PeriodicTask
from callytics_ray.storage import CallStatus, CallStore

logger = logging.getLogger(__name__)


class Reconciler(PeriodicTask):
    _task_name = "callytics-reconciler"
    """Resumes unfinished calls whose lease is free or lapsed, at start-up and every `interval_s`,
    and backfill jobs whose driver died (when given a `BackfillRunner`); then, when given a
    `retention` sweep, deletes the original recordings past their retention.

    Example:
        >>> reconciler = Reconciler(store, runner, interval_s=30)
        >>> await reconciler.reconcile_once()   # call ids handed to the runner
        >>> reconciler.start()                  # and from now on periodically; `await stop()` ends it
    """

    def __init__(
        self,
        store: CallStore,
        runner: CallRunner,
        *,
        interval_s: float,
        max_stage_attempts: int = 10,
        batch_size: int = 100,
        retention: RetentionSweep | None = None,
        backfills: BackfillRunner | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.interval_s = interval_s
        self.max_stage_attempts = max_stage_attempts
        self.batch_size = batch_size
        self.retention = retention
        self.backfills = backfills

    async def reconcile_once(self) -> list[str]:
        """Hand every resumable call to the runner once.

        Returns:
            the ids handed over (the runner's lease decides whether it runs each one).
        """
        call_ids = await asyncio.to_thread(self.store.claimable_calls, limit=self.batch_size)
        started: list[str] = []
        for call_id in call_ids:
            attempted = await asyncio.to_thread(self.store.most_attempted_stage, call_id)
            if attempted is not None and attempted[1] >= self.max_stage_attempts:
                # A call that takes its worker down every time would otherwise be resumed forever.
                stage, attempts = attempted
                logger.error("call %s: stage %s started %d times without finishing; giving up", call_id, stage, attempts)
                await asyncio.to_thread(
                    self.store.set_status, call_id, CallStatus.FAILED,
                    error=f"stage {stage} was started {attempts} times without finishing; retry the call to start over",
                )
                continue
            try:
                request = await asyncio.to_thread(load_call_request, self.store, call_id)
            except CallyticsError as err:
                # Nothing in the database can rebuild it: say so on the call instead of retrying forever.
                logger.error("call %s cannot be resumed: %s", call_id, err)
                await asyncio.to_thread(
                    self.store.set_status, call_id, CallStatus.FAILED, error=f"cannot be resumed: {err}"
                )
                continue
            await self.runner.start(request)
            started.append(call_id)
        if started:
            logger.info("reconciler resumed %d call(s): %s", len(started), ", ".join(started))
        return started

    async def reconcile_backfills(self) -> list[str]:
        """Start a driver here for every backfill job nobody drives (the ids)."""
        if self.backfills is None:
            return []
        return await asyncio.to_thread(self.backfills.resume_orphans)

    async def _loop(self) -> None:
        while True:
            try:
                await self.reconcile_once()
                await self.reconcile_backfills()
            except Exception:  # a database hiccup must not end reconciliation for good
                logger.exception("reconciliation failed; trying again in %.0f s", self.interval_s)
            if self.retention is not None:
                try:
                    await self.retention.sweep_once()
                except Exception:
                    logger.exception("retention sweep failed; trying again in %.0f s", self.interval_s)
            await asyncio.sleep(self.jittered(self.interval_s))
