"""A call's QA results: its scorecards and categories (computed when it finished), re-scoring one
stored call on the rubrics in force now, and per-agent scores."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from callytics_ray.analytics import CategoryMatch, Scorecard
from callytics_ray.api.deps import get_judge, get_store, require
from callytics_ray.api.errors import ConflictError, ErrorBody
from callytics_ray.api.runner import FINISHED
from callytics_ray.errors import NotFoundError
from callytics_ray.judgement import ItemJudge
from callytics_ray.pipeline.assessment import assess_and_store
from callytics_ray.storage import CallStatus, CallStore
from callytics_ray.storage.keys import ApiKeyRecord
from callytics_ray.storage.models import AgentScore, StoredAssessment

router = APIRouter(prefix="/v1", tags=["scorecards"])

_ERRORS = {code: {"model": ErrorBody} for code in (401, 403, 404, 429)}


class CallScorecards(BaseModel):
    """The call's scorecard on each rubric in force when it was scored. `error`: scoring failed
    (the call itself is unaffected); re-score it."""

    call_id: str
    assessed_at: datetime
    error: str | None = None
    scorecards: list[Scorecard]


class CallCategories(BaseModel):
    """The categories the call matched, with the evidence, when it was assessed."""

    call_id: str
    assessed_at: datetime
    error: str | None = None
    categories: list[CategoryMatch]


class AgentScores(BaseModel):
    rubric: str
    items: list[AgentScore]


def call_assessment(store: CallStore, call_id: str, tenant: str) -> StoredAssessment:
    """`tenant`'s call's stored assessment; 404 when a finished call was never scored, 409 while it runs."""
    record = store.get_call(call_id, tenant=tenant)
    try:
        return store.get_assessment(call_id, tenant=tenant)
    except NotFoundError:
        if record.status in FINISHED:
            raise NotFoundError(f"call {call_id} has not been scored: POST /v1/calls/{call_id}/scorecard:rescore "
                                "scores it") from None
        raise ConflictError(f"call {call_id} is {record.status}; it is scored once it has finished",
                            code="not_ready") from None


@router.get("/calls/{call_id}/scorecard", response_model=CallScorecards, response_model_exclude_none=True,
            responses={409: {"model": ErrorBody}, **_ERRORS}, summary="A call's QA scorecards")
def get_scorecard(call_id: str, caller: ApiKeyRecord = Depends(require("read")),
                  store: CallStore = Depends(get_store)) -> CallScorecards:
    """Each item's result (pass, fail, not_assessed, not_applicable) with its evidence (seconds and
    words), the weighted score and the rubric version. 409 while the call is still running."""
    found = call_assessment(store, call_id, caller.tenant)
    return CallScorecards(call_id=call_id, assessed_at=found.assessed_at, error=found.error,
                          scorecards=found.scorecards)


@router.get("/calls/{call_id}/categories", response_model=CallCategories, response_model_exclude_none=True,
            responses={409: {"model": ErrorBody}, **_ERRORS}, summary="The categories a call matched")
def get_categories(call_id: str, caller: ApiKeyRecord = Depends(require("read")),
                   store: CallStore = Depends(get_store)) -> CallCategories:
    found = call_assessment(store, call_id, caller.tenant)
    return CallCategories(call_id=call_id, assessed_at=found.assessed_at, error=found.error,
                          categories=found.categories)


@router.post("/calls/{call_id}/scorecard:rescore", response_model=CallScorecards, response_model_exclude_none=True,
             responses={409: {"model": ErrorBody}, **_ERRORS},
             summary="Score a stored call again on the rubrics and categories in force now")
async def rescore_call(call_id: str, caller: ApiKeyRecord = Depends(require("submit")),
                       store: CallStore = Depends(get_store),
                       judge: ItemJudge | None = Depends(get_judge)) -> CallScorecards:
    """Scores the stored analysis on the latest rubric versions and matches the latest category
    sets (`GET /v1/calls/{id}/categories` shows the new matches). Only completed or partial calls
    (409 otherwise). Needs the submit scope."""
    record = await asyncio.to_thread(store.get_call, call_id, tenant=caller.tenant)
    if record.status not in (CallStatus.COMPLETED, CallStatus.PARTIAL):
        raise ConflictError(f"call {call_id} is {record.status}; only completed or partial calls can be scored",
                            code="not_scorable")
    analysis = await asyncio.to_thread(store.get_analysis, call_id, tenant=caller.tenant)
    await asyncio.to_thread(assess_and_store, store, analysis, tenant=caller.tenant, judge=judge)
    found = await asyncio.to_thread(store.get_assessment, call_id, tenant=caller.tenant)
    return CallScorecards(call_id=call_id, assessed_at=found.assessed_at, error=found.error,
                          scorecards=found.scorecards)


@router.get("/scorecards/agents", response_model=AgentScores, responses=_ERRORS,
            summary="Per-agent scores on a rubric over a period")
def agent_scores(
    rubric: str = Query(..., description="the rubric's name (all its versions count)"),
    created_after: datetime | None = Query(None, description="calls created at or after"),
    created_before: datetime | None = Query(None, description="calls created before"),
    caller: ApiKeyRecord = Depends(require("read")),
    store: CallStore = Depends(get_store),
) -> AgentScores:
    """Mean, lowest and highest score per agent (`agent_id` given at submission), most calls first;
    calls with nothing assessable are left out."""
    return AgentScores(rubric=rubric, items=store.agent_scores(rubric, tenant=caller.tenant,
                                                               created_after=created_after,
                                                               created_before=created_before))
