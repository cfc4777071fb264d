"""The gateway's FastAPI app, built per process from its settings, store and runner (no globals),
so a Ray Serve ingress can wrap it unchanged with `serve.ingress`."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from callytics_ray import __version__
from callytics_ray.api import calls, ops
from callytics_ray.alerts import AlertDispatcher
from callytics_ray.api import agents, alerts, backfills, drivers, rubrics, scorecards, vocabulary
from callytics_ray.api.errors import install_error_handlers
from callytics_ray.api.ratelimit import RateLimiter
from callytics_ray.api.reconciler import Reconciler
from callytics_ray.api.security import install_browser_protection
from callytics_ray.api.retention import RetentionSweep
from callytics_ray.api.runner import CallRunner
from callytics_ray.pipeline.assessment import item_judge
from callytics_ray.api.variants import VariantPicker
from callytics_ray.api.console import install_console
from callytics_ray.api.stored import load_call_request
from callytics_ray.backfill import BackfillRunner, ChunkExecutor, ThreadChunkExecutor
from callytics_ray.backfill.audio import PipelineChunkExecutor
from callytics_ray.settings import Settings
from callytics_ray.text.encoder import TextEncoder
from callytics_ray.storage import CallStore

logger = logging.getLogger(__name__)

# Every request body but an upload's (JSON rubrics, the sign-in form) is refused past this, while
# it streams: FastAPI reads a body before the auth dependency runs, so without a cap a caller with
# no key could make the gateway buffer gigabytes. Uploads have their own limit (api.max_upload_mb,
# callytics_ray/api/upload.py).
MAX_BODY_BYTES = 1024 * 1024

_DESCRIPTION = """Call-center conversation analytics: upload a recorded call, get who spoke when,
a word-timed transcript, sentiment, quality metrics and a summary.

Authenticate with an API key (`callytics keys create --tenant T --scopes submit,read,admin`) sent as
`Authorization: Bearer <key>` or `X-API-Key: <key>`. Errors are JSON: `{"error": {"code", "message"}}`.
"""


def create_app(
    settings: Settings,
    store: CallStore,
    runner: CallRunner,
    *,
    variant_picker: VariantPicker | None = None,
    backfill_executor: ChunkExecutor | None = None,
    encoder: TextEncoder | None = None,
) -> FastAPI:
    """Build the gateway app.

    Its state (`app.state.settings`, `.store`, `.runner`, `.variant_picker`, `.rate_limiter`,
    `.reconciler`, `.alert_dispatcher`, `.backfills`, `.judge`: the LLM judge of rubric llm items
    for re-scoring, None offline) is what the routes read. Start-up runs the
    reconciler (at once, then every `settings.api.reconcile_interval_s`), which also resumes backfill
    jobs whose driver died, and, with `settings.alerts.dispatch`, the alert dispatcher (every
    `settings.alerts.poll_interval_s`); shutdown stops them, gives up the backfill jobs driven here
    (the next start resumes them) and closes the runner when it has an async `close()`.

    Args:
        settings: `settings.api` sets auth, limits and the reconciler; `settings.audio` the probe.
        store: the database of calls, audio, jobs and API keys.
        runner: processes accepted calls (`LocalRunner`, or the Serve gateway's runner).
        variant_picker: A/B variant choice; by default built from `settings.api.variants`
            (None when no variants are configured).
        backfill_executor: where backfill chunks are computed; by default a pool of
            `settings.backfill.workers` threads in this process (the Serve app passes Ray actors).
            The chunks of `reanalyze` and `redact_audio` jobs run through `runner`'s stages
            (its `backend`: in-process, or the Serve deployments), on this app's event loop.

    Example:
        >>> store = CallStore.from_url(settings.database_url)
        >>> app = create_app(settings, store, LocalRunner(LocalStages(settings), store, settings))
        >>> uvicorn.run(app)
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if pipeline is not None:
            pipeline.loop = asyncio.get_running_loop()
        app.state.reconciler.start()
        if settings.alerts.dispatch:
            app.state.alert_dispatcher.start()
        try:
            yield
        finally:
            await app.state.alert_dispatcher.stop()
            await app.state.reconciler.stop()
            await asyncio.to_thread(app.state.backfills.close)
            close = getattr(app.state.runner, "close", None)
            if close is not None:
                await close()

    app = FastAPI(title="Callytics-Ray", version=__version__, description=_DESCRIPTION, lifespan=lifespan,
                  max_body_size=MAX_BODY_BYTES)
    app.state.settings = settings
    app.state.store = store
    app.state.runner = runner
    app.state.variant_picker = variant_picker if variant_picker is not None else VariantPicker.from_settings(settings)
    app.state.rate_limiter = RateLimiter(store, settings.api.rate_limit_per_minute)
    app.state.judge = item_judge(settings)
    # Call drivers embed with it; None loads this process's copy on the first report.
    app.state.encoder = encoder
    backend = getattr(runner, "backend", None)  # LocalRunner's stages; None in a models-free gateway
    pipeline = None if backend is None else PipelineChunkExecutor(
        store, backend, settings, functools.partial(load_call_request, store),
        concurrency=settings.backfill.audio_concurrency, judge=app.state.judge,
    )
    app.state.backfills = BackfillRunner(
        store, backfill_executor or ThreadChunkExecutor(store, workers=settings.backfill.workers,
                                                        judge=app.state.judge),
        lease_s=settings.backfill.lease_s, audio_executor=pipeline,
    )
    app.state.reconciler = Reconciler(
        store, runner, interval_s=settings.api.reconcile_interval_s, max_stage_attempts=settings.api.max_stage_attempts,
        retention=RetentionSweep.from_settings(settings, store), backfills=app.state.backfills,
    )
    app.state.alert_dispatcher = AlertDispatcher(store, settings.alerts)
    install_error_handlers(app)
    app.include_router(calls.router)
    app.include_router(ops.router)
    app.include_router(agents.router)
    app.include_router(drivers.router)
    app.include_router(rubrics.router)
    app.include_router(scorecards.router)
    app.include_router(alerts.router)
    app.include_router(vocabulary.router)
    app.include_router(backfills.router)
    install_console(app)
    install_browser_protection(app, settings.api)
    return app
