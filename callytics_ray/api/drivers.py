"""GET /v1/drivers: why the caller's customers called over a range, as call drivers."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query

from callytics_ray.drivers.report import CallDrivers, DriverReport
from callytics_ray.api.deps import get_encoder, get_settings, get_store, require
from callytics_ray.api.errors import BadRequestError, ErrorBody
from callytics_ray.settings import Settings
from callytics_ray.storage import CallFilter, CallStore
from callytics_ray.storage.filters import as_utc
from callytics_ray.storage.keys import ApiKeyRecord
from callytics_ray.storage.models import TrendBucket
from callytics_ray.text.encoder import TextEncoder

router = APIRouter(prefix="/v1/drivers", tags=["drivers"])

_ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 403, 422, 429)}


@router.get("", response_model=DriverReport, responses=_ERRORS,
            summary="Call drivers: why customers called, with counts, trends and example calls")
def get_drivers(
    created_after: datetime | None = Query(None, description="only calls created at or after this time"),
    created_before: datetime | None = Query(None, description="only calls created before this time"),
    bucket: TrendBucket = Query("week", description="trend per UTC day, or per ISO week (from Monday)"),
    agent_id: str | None = Query(None, description="only this agent's calls"),
    language: str | None = Query(None, description="only calls in this language"),
    max_calls: int | None = Query(None, ge=1, le=100_000, description="read at most this many of the most recent calls (default: drivers.max_calls)"),
    caller: ApiKeyRecord = Depends(require("read")),
    store: CallStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
    encoder: TextEncoder | None = Depends(get_encoder),
) -> DriverReport:
    """The caller's analysed calls in the range, clustered by their reasons (summaries where an
    analysis has none). Each driver has a label (named by the LLM when one is configured, else by
    its keyphrases), its calls and share, a trend over every bucket of the range, and the calls
    most typical of it. The first report of a process loads the sentence encoder (on Serve: the
    sentiment-analyzer's, where it is the same model); embeddings are
    kept, so later reports embed only new calls."""
    if created_after and created_before and as_utc(created_after) >= as_utc(created_before):
        raise BadRequestError("created_after must be before created_before")
    options = settings.drivers
    if max_calls is not None:
        options = options.model_copy(update={"max_calls": max_calls})
    filters = CallFilter(
        tenant=caller.tenant, created_after=created_after, created_before=created_before, agent_id=agent_id,
        language=language,
    )
    calls, in_range = store.driver_calls(filters, limit=options.max_calls)
    drivers = CallDrivers.from_settings(settings.model_copy(update={"drivers": options}), encoder)
    return drivers.report(
        calls, store, bucket=bucket, created_after=created_after, created_before=created_before, calls_in_range=in_range
    )
