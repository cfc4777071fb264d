"""The gateway without Ray: every stage in this process (a `callytics serve-local`-style dev mode)."""

from __future__ import annotations

from fastapi import FastAPI

from callytics_ray.api.app import create_app
from callytics_ray.api.runner import LocalRunner
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore


def build_local_app(settings: Settings, *, store: CallStore | None = None) -> FastAPI:
    """The gateway app over `settings.database_url` with `LocalRunner` and in-process stages.

    Models load on first use; an A/B variant with its own recognizer loads it on its first call
    (`LocalStages` routes each call's variant). Serve it with any ASGI server, e.g.
    `uvicorn.run(build_local_app(Settings()), host="127.0.0.1", port=8000)`.
    """
    # Imported here: the stages' libraries (scipy, av's decoders, the models' runtimes) are this
    # dev mode's, not the Serve gateway's, which imports this package too.
    from callytics_ray.pipeline import LocalStages

    store = store or CallStore.from_url(settings.database_url, echo=settings.storage.echo_sql)
    runner = LocalRunner(LocalStages(settings), store, settings)
    return create_app(settings, store, runner)
