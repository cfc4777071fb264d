"""The /v1/backfills routes: re-score, re-categorise or re-analyse a tenant's stored calls, or make
their missing redacted recordings, as a background job with its progress; a job is resumed where
it stopped when its driver dies.

Where the chunks are computed is the app's `BackfillRunner`'s executors: for assessing, threads in
`callytics serve` and Ray actors on the cluster the Serve app runs on; for re-analysis and
redacted copies, the app's own stages (in-process, or the Serve deployments).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, model_validator

from callytics_ray.api.deps import get_store, require
from callytics_ray.api.errors import ConflictError, ErrorBody
from callytics_ray.backfill import BackfillRunner, ConfigSelector, resolve_spec
from callytics_ray.backfill.work import RecognizerChoiceError
from callytics_ray.errors import NotFoundError
from callytics_ray.storage import CallStore
from callytics_ray.storage.backfills import (
    AUDIO_KINDS, BackfillFilter, BackfillKind, BackfillRecord, BackfillSpec, CallOutcomeRecord,
)
from callytics_ray.storage.keys import ApiKeyRecord
from callytics_ray.storage.tables import BackfillStatus

router = APIRouter(prefix="/v1", tags=["backfills"])

_ERRORS = {code: {"model": ErrorBody} for code in (401, 403, 404, 429)}


class BackfillRequest(BaseModel):
    """The body of POST /v1/backfills.

    Attributes:
        kind: `rescore` (rubrics), `recategorize` (category sets), `reassess` (both), `reanalyze`
            (each call's stored recording through the stages again with the recognizer of
            `variant` or `asr_model`, its analysis replaced, then reassessed on everything in
            force) or `redact_audio` (the redacted recording of each call that has none).
        rubric / category_set: apply this one (its latest version, or `version`) and replace only
            its results; left out: every one in force now, replacing all results of that part.
        variant / asr_model: `reanalyze` only: an A/B variant of `api.variants`, or a model one of
            the recognizers runs (`asr.model` or a variant's `asr_model`); neither: the default.
        filter: which finished calls (completed or partial): creation dates, agent, language.
        chunk_size: calls per chunk (default `backfill.chunk_size`; `backfill.audio_chunk_size`
            for `reanalyze` and `redact_audio`).
    """

    model_config = ConfigDict(extra="forbid")

    kind: BackfillKind
    rubric: ConfigSelector | None = None
    category_set: ConfigSelector | None = None
    variant: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    asr_model: str | None = Field(None, min_length=1, max_length=256)
    filter: BackfillFilter = BackfillFilter()
    chunk_size: int | None = Field(None, ge=1, le=10_000)

    @model_validator(mode="after")
    def _applies(self) -> BackfillRequest:
        if (self.rubric is not None or self.category_set is not None) and self.kind in AUDIO_KINDS:
            raise ValueError(f"a {self.kind} backfill takes no rubric or category set (a re-analysis is assessed "
                             "on the ones in force)")
        if (self.variant is not None or self.asr_model is not None) and self.kind != "reanalyze":
            raise ValueError(f"only a reanalyze backfill takes a variant or asr_model, not {self.kind}")
        if self.variant is not None and self.asr_model is not None:
            raise ValueError("name a variant or an asr_model, not both")
        if self.rubric is not None and self.kind == "recategorize":
            raise ValueError("a recategorize backfill applies category sets, not a rubric")
        if self.category_set is not None and self.kind == "rescore":
            raise ValueError("a rescore backfill applies rubrics, not a category set")
        return self


class BackfillList(BaseModel):
    items: list[BackfillRecord]


class BackfillOutcomes(BaseModel):
    """What a job did to each call of the chunks it stored so far, in chunk order."""

    items: list[CallOutcomeRecord]


def get_backfills(request: Request) -> BackfillRunner:
    return request.app.state.backfills


def start_backfill(store: CallStore, runner: BackfillRunner, spec: BackfillSpec, *, tenant: str,
                   chunk_size: int) -> BackfillRecord:
    """Store the job and hand it to `runner` (the rubric and category routes use it too)."""
    job = store.create_backfill(spec, tenant=tenant, chunk_size=chunk_size)
    if job.status in BackfillStatus.ACTIVE:
        runner.submit(job.id)
    return job


def backfill_changed(request: Request, response: Response, spec: BackfillSpec, *, tenant: str) -> None:
    """Start the backfill a stored rubric or category set implies; its id in the `X-Backfill-Id` header."""
    state = request.app.state
    job = start_backfill(state.store, state.backfills, spec, tenant=tenant,
                         chunk_size=state.settings.backfill.chunk_size)
    response.headers[BACKFILL_HEADER] = job.id


BACKFILL_HEADER = "X-Backfill-Id"


@router.post("/backfills", status_code=202, response_model=BackfillRecord,
             responses={422: {"model": ErrorBody}, **_ERRORS},
             summary="Re-score, re-categorise or re-analyse your stored calls as a background job")
async def create_backfill(
    body: BackfillRequest,
    request: Request,
    response: Response,
    caller: ApiKeyRecord = Depends(require("admin")),
    store: CallStore = Depends(get_store),
    runner: BackfillRunner = Depends(get_backfills),
) -> BackfillRecord:
    """Needs the admin scope. The calls are fixed now, in chunks; `GET /v1/backfills/{id}` shows
    the progress. A rubric or category set that does not exist, or a variant or model no
    recognizer serves, is a 422; 409 when this gateway runs no stages for a `reanalyze` or
    `redact_audio` job."""
    settings = request.app.state.settings
    if runner.executor_for(body.kind) is None:
        raise ConflictError(f"this gateway runs no pipeline stages, so it cannot run a {body.kind} backfill",
                            code="no_pipeline")
    try:
        spec = await asyncio.to_thread(resolve_spec, store, tenant=caller.tenant, kind=body.kind,
                                       rubric=body.rubric, category_set=body.category_set, filter=body.filter,
                                       settings=settings, variant=body.variant, asr_model=body.asr_model)
    except RecognizerChoiceError as err:
        raise RequestValidationError([{"loc": ("body", err.field), "type": "value_error", "msg": str(err)}]) from None
    except NotFoundError as err:
        field = "rubric" if str(err).startswith("rubric") else "category_set"
        raise RequestValidationError([{"loc": ("body", field), "type": "value_error", "msg": str(err)}]) from None
    default_size = settings.backfill.audio_chunk_size if body.kind in AUDIO_KINDS else settings.backfill.chunk_size
    job = await asyncio.to_thread(start_backfill, store, runner, spec, tenant=caller.tenant,
                                  chunk_size=body.chunk_size or default_size)
    response.headers["Location"] = f"/v1/backfills/{job.id}"
    return job


@router.get("/backfills", response_model=BackfillList, responses=_ERRORS, summary="Your backfill jobs, newest first")
def list_backfills(
    status: str | None = Query(None, pattern="^(" + "|".join(BackfillStatus.ALL) + ")$"),
    limit: int = Query(50, ge=1, le=500),
    caller: ApiKeyRecord = Depends(require("read")),
    store: CallStore = Depends(get_store),
) -> BackfillList:
    return BackfillList(items=store.list_backfills(tenant=caller.tenant, status=status, limit=limit))


@router.get("/backfills/{backfill_id}", response_model=BackfillRecord, responses=_ERRORS,
            summary="A backfill job and its progress")
def get_backfill(backfill_id: str, caller: ApiKeyRecord = Depends(require("read")),
                 store: CallStore = Depends(get_store)) -> BackfillRecord:
    """`total`, `done`, `failed`, `progress` (0 to 1), `calls_per_s` of the current run, `runs`
    (2 or more: it was resumed), and `status`: queued, running, done, failed or cancelled."""
    return store.get_backfill(backfill_id, tenant=caller.tenant)


@router.get("/backfills/{backfill_id}/outcomes", response_model=BackfillOutcomes, responses=_ERRORS,
            summary="What a backfill job did to each call")
def backfill_outcomes(backfill_id: str, caller: ApiKeyRecord = Depends(require("read")),
                      store: CallStore = Depends(get_store)) -> BackfillOutcomes:
    """Per call of the chunks stored so far: the error that left it as it was (e.g. its original
    recording deleted by retention), and for `reanalyze` the variant and models of the analysis it
    replaced and of the one stored now, and the state of the redacted copy a job stored."""
    return BackfillOutcomes(items=store.backfill_outcomes(backfill_id, tenant=caller.tenant))


@router.post("/backfills/{backfill_id}:cancel", response_model=BackfillRecord,
             responses={409: {"model": ErrorBody}, **_ERRORS}, summary="Cancel a backfill job")
def cancel_backfill(backfill_id: str, caller: ApiKeyRecord = Depends(require("admin")),
                    store: CallStore = Depends(get_store)) -> BackfillRecord:
    """Needs the admin scope. Chunks stored so far stay; no further chunk is stored. 409 when the
    job has already finished."""
    job, cancelled = store.cancel_backfill(backfill_id, tenant=caller.tenant)
    if not cancelled:
        raise ConflictError(f"backfill {backfill_id} is {job.status}; only queued or running jobs can be cancelled",
                            code="not_cancellable")
    return job
