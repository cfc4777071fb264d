"""The order of stages for one call, shared by the CLI (in-process) and the Serve gateway (handles).

`run_call` awaits a `StageBackend`: `LocalStages` runs the core objects in threads, the Serve
gateway's backend calls deployment handles. Diarization and recognition run side by side.
Every stage is retried with backoff; a failed stage is recorded and the call is stored with what
did succeed, in a retriable state (`partial` or `failed`), never lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from callytics_ray.errors import AudioError, CallyticsError, ConfigError, StageError
from callytics_ray.pipeline import assemble
from callytics_ray.pipeline.request import CallRequest
from callytics_ray.result import CallAnalysis
from callytics_ray.settings import AsrOptions
from callytics_ray.storage import CallStatus, CallStore
from callytics_ray.types import AudioInfo, Transcript

logger = logging.getLogger(__name__)

T = TypeVar("T")

STAGES: tuple[str, ...] = ("audio", "asr")
REQUIRED_STAGES = frozenset({"audio", "asr"})

ProgressHook = Callable[[str, str, float], None]
"""Called as hook(stage, event, seconds) with event "start", "done" or "failed"."""


class StageBackend(Protocol):
    """Where stages run. `audio` payloads are opaque: arrays in-process, object refs on Serve."""

    async def process_audio(self, request: CallRequest) -> tuple[AudioInfo, Any]: ...

    async def transcribe(self, audio: Any, options: AsrOptions) -> Transcript: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0

    def delay_s(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))


@dataclass
class _Run:
    """Per-call bookkeeping while the stages run (local to one run_call)."""

    request: CallRequest
    store: CallStore | None
    hook: ProgressHook | None
    retry: RetryPolicy
    timings: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    async def stage(self, name: str, work: Callable[[], Awaitable[T]]) -> T | None:
        """Run one stage with retries; None (and a recorded error) when it keeps failing."""
        started = time.perf_counter()
        self._emit(name, "start", 0.0)
        await self._record(name, "running")
        last: Exception | None = None
        for attempt in range(1, self.retry.attempts + 1):
            try:
                result = await work()
            except (AudioError, ConfigError) as err:  # bad input or settings: retrying cannot help
                last = err
                break
            except StageError as err:
                last = err
                if not err.retriable:
                    break
            except Exception as err:  # a crashed replica or library bug must not lose the call
                last = err
            else:
                seconds = time.perf_counter() - started
                self.timings[name] = round(seconds, 3)
                self._emit(name, "done", seconds)
                await self._record(name, "done", seconds=seconds)
                return result
            if attempt < self.retry.attempts:
                logger.warning("call %s: %s attempt %d failed: %s", self.request.call_id, name, attempt, last)
                await asyncio.sleep(self.retry.delay_s(attempt))
        seconds = time.perf_counter() - started
        message = str(last) if isinstance(last, CallyticsError) else f"{type(last).__name__}: {last}"
        self.errors[name] = message
        self._emit(name, "failed", seconds)
        await self._record(name, "failed", error=message, seconds=seconds)
        if isinstance(last, AudioError):
            raise last
        return None

    def _emit(self, name: str, event: str, seconds: float) -> None:
        if self.hook is not None:
            self.hook(name, event, seconds)

    async def _record(self, name: str, status: str, *, error: str | None = None, seconds: float | None = None) -> None:
        if self.store is not None:
            await asyncio.to_thread(
                self.store.set_stage, self.request.call_id, name, status, error=error, seconds=seconds
            )


async def run_call(
    request: CallRequest,
    backend: StageBackend,
    *,
    asr_options: AsrOptions,
    store: CallStore | None = None,
    hook: ProgressHook | None = None,
    retry: RetryPolicy = RetryPolicy(),
) -> CallAnalysis:
    """Analyse one call through `backend` and (when `store` is given) store the result.

    Raises:
        AudioError: the recording cannot be analysed (the call is stored as failed first).
    """
    run = _Run(request, store, hook, retry)
    analysis = CallAnalysis(call_id=request.call_id, source=request.name, variant=request.variant)
    if store is not None:
        await asyncio.to_thread(store.set_status, request.call_id, CallStatus.PROCESSING)
    try:
        processed = await run.stage("audio", lambda: backend.process_audio(request))
    except AudioError as err:
        await _finish(run, analysis, CallStatus.FAILED)
        raise
    if processed is None:
        return await _finish(run, analysis, CallStatus.FAILED)
    info, audio = processed
    analysis.audio = assemble.audio_result(info)

    options = asr_options.model_copy(update={"language": request.language}) if request.language else asr_options
    transcript = await run.stage("asr", lambda: backend.transcribe(audio, options))
    if transcript is None:
        return await _finish(run, analysis, CallStatus.FAILED)
    analysis.language = transcript.language
    analysis.language_probability = round(transcript.language_probability, 4)
    analysis.models["asr"] = transcript.model
    analysis.segments = assemble.segments_from_transcript(transcript)

    failed_required = REQUIRED_STAGES & run.errors.keys()
    status = CallStatus.FAILED if failed_required else (CallStatus.PARTIAL if run.errors else CallStatus.COMPLETED)
    return await _finish(run, analysis, status)


async def _finish(run: _Run, analysis: CallAnalysis, status: str) -> CallAnalysis:
    error = "; ".join(f"{stage}: {message}" for stage, message in run.errors.items()) or None
    analysis.timings = dict(run.timings)
    analysis.errors = dict(run.errors) or None
    if run.store is not None:
        await asyncio.to_thread(
            run.store.save_analysis, analysis, tenant=run.request.tenant, status=status, error=error
        )
    return analysis
