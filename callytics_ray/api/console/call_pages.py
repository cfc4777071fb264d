"""The console's page for one call: facts and flags, stage states (live while it runs, Retry when
it failed), waveform with speaker lanes, sentiment over time, quality charts, summary, the
transcript with redactions masked, the alerts it sent, and downloads. The page's data is the API's
`get_call` (and its scorecard and alerts routes)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from callytics_ray.api import alerts as alerts_api
from callytics_ray.api import calls as calls_api
from callytics_ray.api import scorecards as scorecards_api
from callytics_ray.api.errors import ConflictError
from callytics_ray.api.console.call_view import call_page as build_call_page
from callytics_ray.api.console.pages import PREFIX, console_caller, render_page, templates
from callytics_ray.api.console.transcript_view import mask_html, show_masks
from callytics_ray.api.deps import CONSOLE_HEADER, get_store
from callytics_ray.errors import NotFoundError
from callytics_ray.storage import CallStore
from callytics_ray.storage.models import StoredAssessment
from callytics_ray.storage.keys import ApiKeyRecord

router = APIRouter(prefix=PREFIX, include_in_schema=False)
templates.env.filters["masks"] = show_masks
templates.env.globals["mask_html"] = mask_html


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_page(
    request: Request, call_id: str, caller: ApiKeyRecord = Depends(console_caller),
    store: CallStore = Depends(get_store),
) -> HTMLResponse:
    try:
        call = calls_api.get_call(call_id, include_result=True, caller=caller, store=store)
    except NotFoundError:
        return render_page(request, "not_found.html", status_code=404, caller=caller, call_id=call_id)
    return render_page(request, "call.html", page=build_call_page(call, caller), call=call, caller=caller,
                       console_header=CONSOLE_HEADER, assessment=_assessment(call_id, caller, store),
                       alerts=alerts_api.call_alerts(call_id, caller=caller, store=store).items)


def _assessment(call_id: str, caller: ApiKeyRecord, store: CallStore) -> StoredAssessment | None:
    """The call's scorecards and categories as the API serves them; None while it runs (409) or
    when it was never scored (404: a call stored before scoring existed)."""
    try:
        return scorecards_api.call_assessment(store, call_id, caller.tenant)
    except (ConflictError, NotFoundError):
        return None
