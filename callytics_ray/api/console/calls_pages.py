"""The calls table: filters, sortable columns and pages, all in the URL; live while calls run.

A full page to a browser; to htmx (the filter form, a sort header, the pager, the live poll) the
table alone, with `HX-Push-Url` naming the canonical URL of what it shows, so that reloading,
sharing and the back button show the same table.
"""

from __future__ import annotations

import typing

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from callytics_ray.api import calls as calls_api
from callytics_ray.api.calls import StatusName
from callytics_ray.api.console.calls_query import PAGE_SIZES, TableQuery
from callytics_ray.api.console.flags import FLAG_LABELS, flag_label
from callytics_ray.api.console.pages import PREFIX, console_caller, templates
from callytics_ray.api.deps import get_settings, get_store
from callytics_ray.api.runner import FINISHED
from callytics_ray.result import SentimentLabel
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import ApiKeyRecord

router = APIRouter(prefix=PREFIX, include_in_schema=False)

# The element that re-reads the table while a call in it runs (its requests push no URL).
LIVE_POLL_ID = "live-poll"
LIVE_POLL_S = 2


@router.get("/calls", response_class=HTMLResponse)
def calls_page(
    request: Request,
    caller: ApiKeyRecord = Depends(console_caller),
    settings: Settings = Depends(get_settings),
    store: CallStore = Depends(get_store),
) -> HTMLResponse:
    query = TableQuery.from_params(request.query_params)
    page = calls_api.list_calls(**query.api_arguments(), caller=caller, settings=settings, store=store)
    fragment = bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")
    context = {
        "page": page, "caller": caller, "query": query, "fragment": fragment,
        "live": any(call.status not in FINISHED for call in page.items),
        "live_poll_id": LIVE_POLL_ID, "live_poll_s": LIVE_POLL_S,
        "statuses": typing.get_args(StatusName), "sentiments": typing.get_args(SentimentLabel),
        "flags": list(FLAG_LABELS.values()), "flag_label": flag_label,
        "page_sizes": sorted({*PAGE_SIZES, query.limit}),
    }
    response = templates.TemplateResponse(request, "_call_rows.html" if fragment else "calls.html", context)
    if fragment and request.headers.get("HX-Trigger") != LIVE_POLL_ID:
        response.headers["HX-Push-Url"] = query.url()
    return response
