"""The /v1/backfills routes: re-score or re-categorise a tenant's stored calls as a background job,
with its progress; a job is resumed where it stopped when its driver dies.

Where the chunks are computed is the app's `BackfillRunner`'s executor: threads in `callytics
serve`, Ray actors on the cluster the Serve app runs on.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, model_validator

from callytics_ray.api.deps import get_store, require
from callytics_ray.api.errors import ConflictError, ErrorBody
from callytics_ray.backfill import BackfillRunner, ConfigSelector, resolve_spec
from callytics_ray.errors import NotFoundError
from callytics_ray.storage import CallStore
from callytics_ray.storage.backfills import BackfillFilter, BackfillKind, BackfillRecord, BackfillSpec
from callytics_ray.storage.keys import ApiKeyRecord
from callytics_ray.storage.tables import BackfillStatus

router = APIRouter(prefix="/v1", tags=["backfills"])

_ERRORS = {code: {"model": ErrorBody} for code in (401, 403, 404, 429)}


class BackfillRequest(BaseModel):
    """The body of POST /v1/backfills.

    Attributes:
        kind: `rescore` (rubrics), `recategorize` (category sets) or `reassess` (both).
        rubric / category_set: apply this one (its latest version, or `version`) and replace only
            its results; left out: every one in force now, replacing all results of that part.
        filter: which finished calls (completed or partial): creation dates, agent, language.
        chunk_size: calls per chunk (default `backfill.chunk_size`).
    """

    model_config = ConfigDict(extra="forbid")

    kind: BackfillKind
    rubric: ConfigSelector | None = None
    category_set: ConfigSelector | None = None
    filter: BackfillFilter = BackfillFilter()
    chunk_size: int | None = Field(None, ge=1, le=10_000)

    @model_validator(mode="after")
    def _applies(self) -> BackfillRequest:
        if self.rubric is not None and self.kind == "recategorize":
            raise ValueError("a recategorize backfill applies category sets, not a rubric")
        if self.category_set is not None and self.kind == "rescore":
            raise ValueError("a rescore backfill applies rubrics, not a category set")
        return self


class BackfillList(BaseModel):
    items: list[BackfillRecord]


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
             summary="Re-score or re-categorise your stored calls as a background job")
async def create_backfill(
    body: BackfillRequest,
    request: Request,
    response: Response,
    caller: ApiKeyRecord = Depends(require("admin")),
    store: CallStore = Depends(get_store),
    runner: BackfillRunner = Depends(get_backfills),
) -> BackfillRecord:
    """Needs the admin scope. The calls are fixed now, in chunks; `GET /v1/backfills/{id}` shows
    the progress. A rubric or category set that does not exist is a 422."""
    try:
        spec = await asyncio.to_thread(resolve_spec, store, tenant=caller.tenant, kind=body.kind,
                                       rubric=body.rubric, category_set=body.category_set, filter=body.filter)
    except NotFoundError as err:
        field = "rubric" if str(err).startswith("rubric") else "category_set"
        raise RequestValidationError([{"loc": ("body", field), "type": "value_error", "msg": str(err)}]) from None
    settings = request.app.state.settings
    job = await asyncio.to_thread(start_backfill, store, runner, spec, tenant=caller.tenant,
                                  chunk_size=body.chunk_size or settings.backfill.chunk_size)
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
