"""Backfill chunks that run stored recordings through the stages again: `reanalyze` (the whole
pipeline, the one `run_call`, with the job's recognizer) and `redact_audio` (the audio stage's
redacted copy, from the stored PII spans).

Computing writes nothing, as for the assessing kinds: each call's new analysis, copy and
assessment come back in the chunk's result, which the driver stores in one transaction. The stages
are the app's own `StageBackend`: `LocalStages` without Ray, `ServeStages` (the deployments, the
variant's recognizer deployment included) on Serve.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from callytics_ray.analytics import assess
from callytics_ray.backfill.runner import StoreChunk
from callytics_ray.backfill.work import AnalysisReader, BackfillPlan
from callytics_ray.errors import CallyticsError, NotFoundError
from callytics_ray.judgement import ItemJudge
from callytics_ray.pipeline import CallRequest, StageBackend, run_call
from callytics_ray.pipeline import redacted_audio
from callytics_ray.pipeline.orchestrator import finished_status
from callytics_ray.result import CallAnalysis
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStatus
from callytics_ray.storage.backfills import (
    AnalysisProvenance,
    CallOutcome,
    ChunkResult,
    ChunkWork,
    ReanalysedCall,
    RedactedCopy,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

RequestLoader = Callable[[str], CallRequest]
"""Rebuilds a stored call's `CallRequest` (its audio and submitted hints) from the database;
raises NotFoundError when the call or its original recording is gone (the gateway's
`load_call_request`)."""


class PipelineChunkExecutor:
    """`ChunkExecutor` for the audio kinds: one chunk at a time, `concurrency` of its calls in the
    stages at once, so a backfill over thousands of calls never floods the stages live traffic uses.

    Args:
        reader: reads the chunk's stored analyses (the store).
        backend: the stages (`LocalStages`, or the Serve gateway's `ServeStages`).
        settings: the pipeline's settings (`run_call`).
        load_request: a stored call's request and audio (`RequestLoader`).
        concurrency: calls of a chunk computed at once.
        judge: answers the rubrics' llm items when the re-analysed call is scored (None: they are
            not assessed, as offline).

    Attributes:
        loop: the event loop the stages are awaited on (the gateway's, set when it starts, so a
            re-analysis shares the loop, handles and stage threads of the live calls); None: a
            fresh loop per chunk in the driver's thread (the CLI).

    Example:
        >>> pipeline = PipelineChunkExecutor(store, LocalStages(settings), settings,
        ...                                  functools.partial(load_call_request, store), concurrency=2)
        >>> BackfillRunner(store, ThreadChunkExecutor(store, workers=2), lease_s=60,
        ...                audio_executor=pipeline).drive(job.id).status
        'done'
    """

    name = "pipeline"

    def __init__(self, reader: AnalysisReader, backend: StageBackend, settings: Settings,
                 load_request: RequestLoader, *, concurrency: int, judge: ItemJudge | None = None) -> None:
        self.reader = reader
        self.backend = backend
        self.settings = settings
        self.load_request = load_request
        self.concurrency = concurrency
        self.judge = judge
        self.loop: asyncio.AbstractEventLoop | None = None

    def run(self, plan: BackfillPlan, chunks: list[ChunkWork], store_chunk: StoreChunk) -> None:
        for chunk in chunks:
            result = self._await(compute_audio_chunk(self, plan, chunk))
            if not store_chunk(result):
                return

    def _await(self, work: Coroutine[Any, Any, T]) -> T:
        loop = self.loop
        if loop is not None and loop.is_running():
            return asyncio.run_coroutine_threadsafe(work, loop).result()
        return asyncio.run(work)


async def compute_audio_chunk(executor: PipelineChunkExecutor, plan: BackfillPlan, chunk: ChunkWork) -> ChunkResult:
    """Each call of `chunk` re-analysed or given its redacted copy (as `plan.kind` says); a call
    that cannot be is an outcome with the reason (its original deleted by retention, say), never
    an exception. Writes nothing."""
    stored = await asyncio.to_thread(executor.reader.stored_analyses, chunk.call_ids)
    slots = asyncio.Semaphore(executor.concurrency)
    work = _reanalyse if plan.kind == "reanalyze" else _redact

    async def one(call_id: str) -> CallOutcome:
        async with slots:
            try:
                return await work(executor, plan, call_id, stored.get(call_id))
            except Exception as err:  # one call's failure must not cost the rest of the chunk
                reason = str(err) if isinstance(err, CallyticsError) else f"{type(err).__name__}: {err}"
                logger.warning("backfill %s: call %s: %s", plan.backfill_id, call_id, reason)
                return CallOutcome(call_id=call_id, error=reason)

    outcomes = await asyncio.gather(*(one(call_id) for call_id in chunk.call_ids))
    return ChunkResult(backfill_id=plan.backfill_id, position=chunk.position, outcomes=list(outcomes))


async def _reanalyse(executor: PipelineChunkExecutor, plan: BackfillPlan, call_id: str,
                     raw: str | None) -> CallOutcome:
    previous = AnalysisProvenance.of(CallAnalysis.model_validate_json(raw)) if raw else None
    try:
        request = await asyncio.to_thread(executor.load_request, call_id)
    except NotFoundError as err:  # the call or its original recording is gone (retention): the analysis stays
        return CallOutcome(call_id=call_id, previous=previous, error=str(err))
    # The job's recognizer, not the arm the call was first given.
    request = dataclasses.replace(request, variant=plan.variant)
    analysis = await run_call(request, executor.backend, settings=executor.settings)  # no store: writes nothing
    status, error = finished_status(analysis.errors or {})
    if status == CallStatus.FAILED:
        return CallOutcome(call_id=call_id, previous=previous,
                           error=f"the re-analysis failed, so the stored analysis stays: {error}")
    copy = await _copy(executor, analysis, request)
    # In a thread: the judge asks the LLM endpoint, and this may run on the gateway's event loop.
    found = await asyncio.to_thread(assess, plan.rubrics, plan.category_sets, analysis, executor.judge)
    return CallOutcome(
        call_id=call_id, previous=previous, reanalysed=ReanalysedCall(analysis=analysis, status=status, error=error),
        redacted_copy=copy, scorecards=found.scorecards, categories=found.categories,
    )


async def _redact(executor: PipelineChunkExecutor, plan: BackfillPlan, call_id: str, raw: str | None) -> CallOutcome:
    if raw is None:
        return CallOutcome(call_id=call_id, error="no stored analysis, so where the recording holds PII is unknown")
    analysis = CallAnalysis.model_validate_json(raw)
    request = await asyncio.to_thread(executor.load_request, call_id)
    redaction, data = await redacted_audio.make_copy(analysis, request, executor.backend)
    return CallOutcome(call_id=call_id, redacted_copy=RedactedCopy(redaction=redaction, data=data))


async def _copy(executor: PipelineChunkExecutor, analysis: CallAnalysis, request: CallRequest) -> RedactedCopy:
    """The redacted copy for a new analysis; unavailable, with the reason, as the orchestrator
    stores it when the spans are unknown or the copy cannot be made (the analysis still counts)."""
    errors = analysis.errors or {}
    if "redaction" in errors:
        return RedactedCopy(redaction=redacted_audio.unavailable(redacted_audio.spans_unknown(errors["redaction"])))
    try:
        redaction, data = await redacted_audio.make_copy(analysis, request, executor.backend)
    except Exception as err:
        reason = str(err) if isinstance(err, CallyticsError) else f"{type(err).__name__}: {err}"
        return RedactedCopy(redaction=redacted_audio.unavailable(redacted_audio.not_made(reason)))
    return RedactedCopy(redaction=redaction, data=data)
