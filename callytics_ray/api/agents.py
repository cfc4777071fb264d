"""The /v1/agents routes: each agent's figures over the caller's calls, and one agent's trend."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from callytics_ray.api.deps import get_store, require
from callytics_ray.api.errors import ErrorBody
from callytics_ray.errors import NotFoundError
from callytics_ray.storage import CallFilter, CallStore
from callytics_ray.storage.keys import ApiKeyRecord
from callytics_ray.storage.models import AgentBucket, AgentSummary, TrendBucket

router = APIRouter(prefix="/v1/agents", tags=["agents"])

_ERRORS = {code: {"model": ErrorBody} for code in (401, 403, 404, 422, 429)}
_AFTER = Query(None, description="only calls created at or after this time")
_BEFORE = Query(None, description="only calls created before this time")


class AgentList(BaseModel):
    """The caller's agents (those named by at least one call in the range), most calls first."""

    items: list[AgentSummary]


class AgentView(AgentSummary):
    """One agent's figures and how they moved, bucket by bucket (buckets without calls are left out)."""

    bucket: TrendBucket
    trend: list[AgentBucket] = Field(description="oldest first")


@router.get("", response_model=AgentList, responses=_ERRORS, summary="Every agent's figures")
def list_agents(
    created_after: datetime | None = _AFTER,
    created_before: datetime | None = _BEFORE,
    caller: ApiKeyRecord = Depends(require("read")),
    store: CallStore = Depends(get_store),
) -> AgentList:
    """Per agent of the caller's tenant: calls handled, their total duration, and the mean call
    sentiment, agent talk share, interruptions and speaking rate over the analysed calls."""
    filters = CallFilter(tenant=caller.tenant, created_after=created_after, created_before=created_before)
    return AgentList(items=store.agent_summaries(filters))


@router.get("/{agent_id}", response_model=AgentView, responses=_ERRORS,
            summary="One agent's figures and their trend per day or week")
def get_agent(
    agent_id: str,
    bucket: TrendBucket = Query("day", description="trend per UTC day, or per ISO week (from Monday)"),
    created_after: datetime | None = _AFTER,
    created_before: datetime | None = _BEFORE,
    caller: ApiKeyRecord = Depends(require("read")),
    store: CallStore = Depends(get_store),
) -> AgentView:
    """404 when no call of the caller's tenant names this agent; an agent with no call in the
    range has zero calls and an empty trend."""
    everything = CallFilter(tenant=caller.tenant, agent_id=agent_id)
    filters = everything.model_copy(update={"created_after": created_after, "created_before": created_before})
    found = store.agent_summaries(filters)
    if not found and not store.agent_summaries(everything):
        raise NotFoundError(f"agent {agent_id} not found")
    summary = found[0] if found else AgentSummary(agent_id=agent_id, calls=0, analysed_calls=0, total_duration_s=0.0)
    return AgentView(**summary.model_dump(), bucket=bucket, trend=store.agent_trend(filters, bucket=bucket))
