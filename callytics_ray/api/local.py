"""The gateway without Ray: every stage in this process (a `callytics serve-local`-style dev mode)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from callytics_ray.api.app import create_app
from callytics_ray.api.runner import LocalRunner
from callytics_ray.pipeline import LocalStages, StageBackend
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore
from callytics_ray.types import Transcript


class AsrVariantStages:
    """A StageBackend that is `base` in every stage except speech recognition, which `asr` runs.

    An A/B arm differs only in its recognizer: it shares the base backend's diarizer, punctuator
    and the rest instead of loading a second copy. Every attribute but `transcribe` is the base's,
    so stages added to the pipeline later are shared without changes here.
    """

    def __init__(self, base: StageBackend, asr: StageBackend) -> None:
        self._base = base
        self._asr = asr

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)

    async def transcribe(self, audio: Any, language: str | None) -> Transcript:
        return await self._asr.transcribe(audio, language)


def variant_stages(settings: Settings, base: StageBackend) -> dict[str, StageBackend]:
    """One backend per A/B variant that names its own recognizer (`asr_model`), sharing `base`."""
    return {
        v.name: AsrVariantStages(
            base, LocalStages(settings.model_copy(update={"asr": settings.asr.model_copy(update={"model": v.asr_model})}))
        )
        for v in settings.api.variants
        if v.asr_model is not None and v.asr_model != settings.asr.model
    }


def build_local_app(settings: Settings, *, store: CallStore | None = None) -> FastAPI:
    """The gateway app over `settings.database_url` with `LocalRunner` and in-process stages.

    Models load on the first call of each variant. Serve it with any ASGI server, e.g.
    `uvicorn.run(build_local_app(Settings()), host="127.0.0.1", port=8000)`.
    """
    store = store or CallStore.from_url(settings.database_url, echo=settings.storage.echo_sql)
    base = LocalStages(settings)
    runner = LocalRunner(base, store, settings, variant_backends=variant_stages(settings, base))
    return create_app(settings, store, runner)
