"""Who processes accepted calls: the `CallRunner` protocol and `LocalRunner` (asyncio tasks in the
gateway's own event loop over any `StageBackend`).

Every run holds a lease on its call (`CallStore.claim_call`), renewed while it runs, so several
gateway replicas and their reconcilers never run one call twice, and a dead worker's calls are
resumed once its lease lapses.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from callytics_ray.errors import AudioError, LeaseLostError, NotFoundError
from callytics_ray.pipeline import CallRequest, RetryPolicy, StageBackend, run_call
from callytics_ray.pipeline.assessment import item_judge
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStatus, CallStore
from callytics_ray.storage.db import database_unavailable

logger = logging.getLogger(__name__)

FINISHED = frozenset({CallStatus.COMPLETED, CallStatus.PARTIAL, CallStatus.FAILED})

StageHook = Callable[[CallRequest, str, str, float], None]
"""Called as hook(request, stage, event, seconds), event "start", "done" or "failed" (metrics);
also as stage "call" with event "start" when a run begins (before waiting for a slot) and "done",
"failed" (an error outside the stages) or "cancelled" when it ends."""


@runtime_checkable
class CallRunner(Protocol):
    """Processes stored calls in the background."""

    async def start(self, request: CallRequest) -> None:
        """Begin processing `request` (its call is already stored) and return at once."""
        ...

    async def wait(self, call_id: str, timeout_s: float) -> None:
        """Return when the call is finished (completed, partial, failed) or `timeout_s` has passed."""
        ...


def make_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LocalRunner:
    """Runs `run_call` as asyncio tasks in the current event loop, at most
    `settings.api.max_concurrent_calls` at a time.

    Args:
        backend: where stages run (`LocalStages` in-process, or a Serve-handle backend).
        store: the database calls, audio and stage states live in.
        settings: `api.lease_s`, `api.max_concurrent_calls` and `asr.options` are read from it;
            with `llm.base_url`, an LLM judges the rubrics' llm items when a call is scored.
        retry: per-stage retry policy.
        worker_id: this runner's name in leases (unique per process by default).
        hook: stage events per call, e.g. for per-variant metrics.

    Example:
        >>> runner = LocalRunner(LocalStages(settings), store, settings)
        >>> await runner.start(load_call_request(store, call_id))
        >>> await runner.wait(call_id, timeout_s=60)
    """

    def __init__(
        self,
        backend: StageBackend,
        store: CallStore,
        settings: Settings,
        *,
        retry: RetryPolicy = RetryPolicy(),
        worker_id: str | None = None,
        hook: StageHook | None = None,
        poll_interval_s: float = 0.25,
    ) -> None:
        self.backend = backend
        self.store = store
        self.settings = settings
        self.retry = retry
        self.worker_id = worker_id or make_worker_id()
        self.hook = hook
        self.poll_interval_s = poll_interval_s
        self.judge = item_judge(settings)  # one client (and connection pool) for every call's scoring
        self._slots = asyncio.Semaphore(settings.api.max_concurrent_calls)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    @property
    def active_calls(self) -> frozenset[str]:
        """Calls this runner has accepted and not yet finished (running or waiting for a slot)."""
        return frozenset(self._tasks)

    async def start(self, request: CallRequest) -> None:
        self._spawn(request)

    def _spawn(self, request: CallRequest) -> None:
        if self._closed:
            return
        running = self._tasks.get(request.call_id)
        if running is not None:
            # A retry right after the last run failed (that run is still letting go of its lease),
            # or a resume racing the first start: try once more when the run ends; the lease then
            # decides whether there is anything left to do.
            running.add_done_callback(lambda _t: self._spawn(request))
            return
        task = asyncio.create_task(self._run(request), name=f"call-{request.call_id}")
        self._tasks[request.call_id] = task
        task.add_done_callback(lambda _t, call_id=request.call_id: self._tasks.pop(call_id, None))

    async def wait(self, call_id: str, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        task = self._tasks.get(call_id)
        if task is not None:
            await asyncio.wait({task}, timeout=timeout_s)
        # Another replica may run the call (it won the lease): the database has the last word.
        while True:
            try:
                record = await asyncio.to_thread(self.store.get_call, call_id)
            except NotFoundError:
                return
            remaining = deadline - loop.time()
            if record.status in FINISHED or remaining <= 0:
                return
            await asyncio.sleep(min(self.poll_interval_s, remaining))

    async def close(self) -> None:
        """Cancel the calls in progress and give up their leases, so another replica resumes them."""
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, request: CallRequest) -> None:
        call_id, lease_s = request.call_id, self.settings.api.lease_s
        if not await asyncio.to_thread(self.store.claim_call, call_id, self.worker_id, lease_s):
            logger.info("call %s: another worker holds it or it is finished; not running it", call_id)
            return
        heartbeat = asyncio.create_task(self._keep_lease(call_id, asyncio.current_task()))
        started, ended = time.perf_counter(), "failed"
        self._emit_call(request, "start", 0.0)
        try:
            async with self._slots:
                await run_call(
                    request,
                    self.backend,
                    settings=self.settings,
                    store=self.store,
                    hook=self._stage_hook(request),
                    retry=self.retry,
                    lease_holder=self.worker_id,
                    judge=self.judge,
                )
            ended = "done"
            logger.info("call %s: stored by %s", call_id, self.worker_id)
        except AudioError as err:  # run_call stored the call as failed already
            ended = "done"
            logger.info("call %s: audio refused: %s", call_id, err)
        except LeaseLostError as err:  # this run stalled past its lease; the new holder stores the call
            ended = "superseded"
            logger.warning("%s", err)
        except asyncio.CancelledError:
            ended = "cancelled"
            logger.warning("call %s: cancelled; the lease is released for another worker to resume it", call_id)
            raise
        except Exception as err:  # the database or the backend broke outside a stage: keep the call retriable
            if database_unavailable(err):
                # Not the call's fault: leave it unfinished; once its lease is free the reconciler
                # resumes it (the database may be back by then, or on a later round).
                ended = "cancelled"
                logger.warning("call %s: the database is unavailable (%s); the call will be resumed", call_id, err)
                return
            logger.exception("call %s: run failed", call_id)
            try:
                await asyncio.to_thread(
                    self.store.set_status, call_id, CallStatus.FAILED, error=f"{type(err).__name__}: {err}"
                )
            except Exception:
                logger.exception("call %s: could not record the failure; the reconciler will resume it", call_id)
        finally:
            heartbeat.cancel()
            self._emit_call(request, ended, time.perf_counter() - started)
            try:
                await asyncio.shield(asyncio.to_thread(self.store.release_call, call_id, self.worker_id))
            except Exception as err:  # the lease then lapses by itself and the reconciler resumes the call
                logger.warning("call %s: could not release the lease: %s", call_id, err)

    async def _keep_lease(self, call_id: str, run: asyncio.Task | None) -> None:
        lease_s = self.settings.api.lease_s
        while True:
            await asyncio.sleep(lease_s / 3)
            try:
                held = await asyncio.to_thread(self.store.renew_lease, call_id, self.worker_id, lease_s)
            except Exception:
                logger.exception("call %s: lease renewal failed; trying again", call_id)
                continue
            if not held:
                logger.error("call %s: lease lost to another worker; stopping this run", call_id)
                if run is not None:
                    run.cancel()
                return

    def _emit_call(self, request: CallRequest, event: str, seconds: float) -> None:
        if self.hook is not None:
            self.hook(request, "call", event, seconds)

    def _stage_hook(self, request: CallRequest):
        if self.hook is None:
            return None
        hook = self.hook
        return lambda stage, event, seconds: hook(request, stage, event, seconds)
