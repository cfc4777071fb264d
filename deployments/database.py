"""DatabaseService deployment: the pipeline's writes (stage states, statuses, finished analyses).

Gateway replicas read the database directly (lists, searches, leases are cheap), but every write
the orchestrator makes goes through this deployment: SQLite takes one writer at a time, so many
gateway replicas writing at once would queue on its lock, and saving an analysis (utterances,
words, the full-text index) is the heaviest statement of a call. On PostgreSQL it scales out.
"""

from __future__ import annotations

import logging
from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle
from sqlalchemy.engine import Engine

from callytics_ray.result import CallAnalysis
from callytics_ray.storage import CallStatus, CallStore
from deployments._base import StageDeployment, StageFailure, unwrap

logger = logging.getLogger("ray.serve")


@serve.deployment(name="database-service", max_ongoing_requests=32, ray_actor_options={"num_cpus": 0.1})
class DatabaseServiceDeployment(StageDeployment):
    """Owns a CallStore (engine, schema) and applies the pipeline's writes.

    Example:
        >>> unwrap(await handle.save_analysis.remote(analysis, "acme", "completed", None))
    """

    stage = "database"

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self._setup(settings)
        # make_engine creates the schema: replicas that start later find it there.
        self.store = CallStore.from_url(self.settings.database_url, echo=self.settings.storage.echo_sql)

    def _check(self) -> None:
        self.store.ping()

    async def set_status(self, call_id: str, status: str, error: str | None = None) -> None | StageFailure:
        return await self._guarded(lambda: self.store.set_status(call_id, status, error=error))

    async def set_stage(
        self, call_id: str, stage: str, status: str, error: str | None = None, seconds: float | None = None
    ) -> None | StageFailure:
        return await self._guarded(lambda: self.store.set_stage(call_id, stage, status, error=error, seconds=seconds))

    async def save_analysis(
        self, analysis: CallAnalysis, tenant: str, status: str, error: str | None = None
    ) -> None | StageFailure:
        return await self._guarded(
            lambda: self.store.save_analysis(analysis, tenant=tenant, status=status, error=error)
        )


class ServeCallStore(CallStore):
    """The gateway's CallStore: reads and leases on its own engine, pipeline writes through the
    database-service deployment.

    The orchestrator and the runner call these methods from worker threads (asyncio.to_thread),
    where waiting on a DeploymentResponse with `.result()` is allowed.
    """

    def __init__(self, engine: Engine, database: DeploymentHandle, *, timeout_s: float = 120.0) -> None:
        super().__init__(engine)
        self._database = database
        self._timeout_s = timeout_s

    def set_status(self, call_id: str, status: str, *, error: str | None = None) -> None:
        unwrap(self._database.set_status.remote(call_id, status, error).result(timeout_s=self._timeout_s))

    def set_stage(
        self, call_id: str, stage: str, status: str, *, error: str | None = None, seconds: float | None = None
    ) -> None:
        response = self._database.set_stage.remote(call_id, stage, status, error, seconds)
        unwrap(response.result(timeout_s=self._timeout_s))

    def save_analysis(
        self, analysis: CallAnalysis, *, tenant: str = "default", status: str = CallStatus.COMPLETED,
        error: str | None = None,
    ) -> None:
        response = self._database.save_analysis.remote(analysis, tenant, status, error)
        unwrap(response.result(timeout_s=self._timeout_s))
