"""DatabaseService deployment: every write of the application (submissions, leases, retries,
deletes, stage states, statuses, finished analyses).

Gateway replicas read the database directly (lists, searches, results are cheap), but every write
goes through this deployment: SQLite takes one writer at a time, so many gateway replicas writing
at once would queue on its lock, and saving an analysis (utterances, words, the full-text index)
is the heaviest statement of a call. On PostgreSQL it scales out.

No write can bypass it: `ServeCallStore` forwards each method of `WRITE_METHODS` (every CallStore
method marked `@writes`, so a new one is forwarded without further code), and its own engine is
read-only, so an unmarked write fails in the database instead of slipping past the service. Reads
need no forwarding: a forwarded write returns once committed, and every read opens a new
transaction, so a gateway reads its own writes.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle

from callytics_ray.storage import WRITE_METHODS, CallStore, make_engine
from deployments._base import StageDeployment, StageFailure, unwrap

logger = logging.getLogger("ray.serve")


@serve.deployment(name="database-service", max_ongoing_requests=32, ray_actor_options={"num_cpus": 0.1})
class DatabaseServiceDeployment(StageDeployment):
    """Owns a CallStore (engine, schema) and applies the gateways' writes.

    Example:
        >>> unwrap(await handle.write.remote("set_status", (call_id, "failed"), {"error": "boom"}))
    """

    stage = "database"

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self._setup(settings)
        # make_engine creates the schema: replicas that start later find it there.
        self.store = CallStore.from_url(self.settings.database_url, echo=self.settings.storage.echo_sql)

    def _check(self) -> None:
        self.store.ping()

    async def write(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any | StageFailure:
        """`CallStore.<method>(*args, **kwargs)`; the core's errors come back as a StageFailure.

        Raises:
            ValueError: `method` is not one of WRITE_METHODS (reads run on the caller's engine).
        """
        if method not in WRITE_METHODS:
            raise ValueError(f"{method!r} is not a CallStore write; expected one of {', '.join(WRITE_METHODS)}")
        return await self._guarded(functools.partial(getattr(self.store, method), *args, **kwargs))


class ServeCallStore(CallStore):
    """The gateway's CallStore: reads on its own read-only engine, every write through the
    database-service deployment (the methods are generated from WRITE_METHODS below).

    The routes, the orchestrator and the runner call these methods from worker threads
    (asyncio.to_thread, FastAPI's thread pool for plain routes), where waiting on a
    DeploymentResponse with `.result()` is allowed.

    Example:
        >>> store = ServeCallStore(settings.database_url, database_handle)
        >>> store.set_status(call_id, "failed", error="boom")  # runs in the database service
    """

    def __init__(self, database_url: str, database: DeploymentHandle, *, timeout_s: float = 120.0) -> None:
        super().__init__(make_engine(database_url, read_only=True))
        self._database = database
        self._timeout_s = timeout_s

    def _write(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        response = self._database.write.remote(method, args, kwargs)
        return unwrap(response.result(timeout_s=self._timeout_s))


def _forwarding(method: str) -> Any:
    @functools.wraps(getattr(CallStore, method))
    def forward(self: ServeCallStore, *args: Any, **kwargs: Any) -> Any:
        return self._write(method, args, kwargs)

    return forward


# Generated, not written out: a write added to CallStore is forwarded without touching this file.
for _method in WRITE_METHODS:
    setattr(ServeCallStore, _method, _forwarding(_method))
