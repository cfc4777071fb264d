"""Console page of the call drivers: why customers called in a range, as a chart of calls per
driver, their trend per day or week, and each driver's keyphrases and example calls. The data is
what GET /v1/drivers answers."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from callytics_ray.drivers.report import DriverReport
from callytics_ray.api import drivers as drivers_api
from callytics_ray.api.console.agents_pages import DateRange
from callytics_ray.api.console.chart_specs import Axis, BarChart, BarSeries
from callytics_ray.api.console.pages import PREFIX, console_caller, templates
from callytics_ray.api.deps import get_encoder, get_settings, get_store
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import ApiKeyRecord
from callytics_ray.storage.models import TrendBucket
from callytics_ray.text.encoder import TextEncoder

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/drivers", response_class=HTMLResponse)
def drivers_page(
    request: Request,
    bucket: TrendBucket = "week",
    first: str | None = Query(None, alias="from", max_length=10),
    last: str | None = Query(None, alias="to", max_length=10),
    caller: ApiKeyRecord = Depends(console_caller),
    store: CallStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
    encoder: TextEncoder | None = Depends(get_encoder),
) -> HTMLResponse:
    span = DateRange.parse(first, last)
    if span.first and span.last and span.first > span.last:
        span = DateRange(span.last, span.first)
    report = drivers_api.get_drivers(
        created_after=span.created_after, created_before=span.created_before, bucket=bucket, agent_id=None,
        language=None, max_calls=None, caller=caller, store=store, settings=settings,
        encoder=encoder,
    )
    return templates.TemplateResponse(request, "drivers.html", {
        "caller": caller, "report": report, "span": span, "bucket": bucket,
        "counts": counts_chart(report), "trend": trend_chart(report),
    })


def counts_chart(report: DriverReport) -> BarChart:
    """Calls per driver, one horizontal bar each, most calls first."""
    return BarChart(labels=[d.label for d in report.drivers], horizontal=True, y=Axis(min=0, step=1),
                    series=[BarSeries(label="Calls", values=[d.calls for d in report.drivers], color="--accent")])


def trend_chart(report: DriverReport) -> BarChart:
    """Each driver's calls per bucket, stacked: the bars' heights are all calls of the bucket."""
    labels = [b.start.isoformat() for b in report.drivers[0].trend] if report.drivers else []
    return BarChart(labels=labels, stacked=True, y=Axis(min=0, step=1, label="calls"),
                    series=[BarSeries(label=d.label, values=[b.calls for b in d.trend]) for d in report.drivers])
