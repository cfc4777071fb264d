"""Console pages of the agents: every agent's figures in a table, and one agent's figures with a
trend chart per metric. The data is what GET /v1/agents and /v1/agents/{id} answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from callytics_ray.api import agents as agents_api
from callytics_ray.api.console.error_pages import error_page
from callytics_ray.api.console.pages import PREFIX, console_caller, templates
from callytics_ray.api.deps import get_store
from callytics_ray.errors import NotFoundError
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import ApiKeyRecord
from callytics_ray.storage.models import AgentFigures, AgentSummary, TrendBucket

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@dataclass(frozen=True)
class Metric:
    """One figure of `AgentFigures` as the pages show it: a column, a fact, a trend chart."""

    field: str
    title: str
    show: Callable[[float], str]
    chart: str = "line"
    y: dict[str, Any] | None = None  # the trend chart's y axis, as charts.js reads it

    def text(self, figures: AgentFigures) -> str:
        value = getattr(figures, self.field)
        return "–" if value is None else self.show(value)


METRICS = (
    Metric("calls", "Calls handled", lambda v: f"{v:d}", chart="bars", y={"min": 0, "integer": True}),
    Metric("mean_sentiment_score", "Mean sentiment", lambda v: f"{v:+.2f}"),
    Metric("mean_agent_talk_share", "Agent talk share", lambda v: f"{v:.0%}", y={"min": 0, "max": 1}),
    Metric("mean_agent_interruptions", "Interruptions per call", lambda v: f"{v:.1f}", y={"min": 0}),
    Metric("mean_agent_speaking_rate_wpm", "Speaking rate", lambda v: f"{v:.0f} wpm", y={"label": "wpm"}),
)
_SORTS = {m.field for m in METRICS}


@dataclass(frozen=True)
class DateRange:
    """The days a page covers, both inclusive, as the URL carries them (`from`, `to`)."""

    first: date | None
    last: date | None

    @classmethod
    def parse(cls, first: str | None, last: str | None) -> DateRange:
        return cls(_day(first), _day(last))

    @property
    def created_after(self) -> datetime | None:
        return datetime.combine(self.first, time.min, timezone.utc) if self.first else None

    @property
    def created_before(self) -> datetime | None:
        return datetime.combine(self.last + timedelta(days=1), time.min, timezone.utc) if self.last else None

    def query(self, **more: str) -> str:
        """This range (and `more`) as a query string, '' when there is nothing to carry."""
        params = {"from": self.first.isoformat() if self.first else "", "to": self.last.isoformat() if self.last else "",
                  **more}
        kept = {k: v for k, v in params.items() if v}
        return f"?{urlencode(kept)}" if kept else ""


def _day(value: str | None) -> date | None:
    """A date input's value; empty or malformed means no bound (a form sends "" for a blank field)."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def agent_path(agent_id: str) -> str:
    return f"{PREFIX}/agents/{quote(agent_id, safe='')}"


def calls_of(agent_id: str) -> str:
    """The calls table filtered to this agent."""
    return f"{PREFIX}/calls?{urlencode({'agent': agent_id})}"


def _sorted(agents: list[AgentSummary], sort: str) -> list[AgentSummary]:
    """Highest first, agents without the figure last; the API's order (most calls) breaks ties."""
    return sorted(agents, key=lambda a: (getattr(a, sort) is None, -(getattr(a, sort) or 0)))


@router.get("/agents", response_class=HTMLResponse)
def agents_page(
    request: Request,
    first: str | None = Query(None, alias="from", max_length=10),
    last: str | None = Query(None, alias="to", max_length=10),
    sort: str = Query("calls", max_length=40),
    caller: ApiKeyRecord = Depends(console_caller),
    store: CallStore = Depends(get_store),
) -> HTMLResponse:
    span = DateRange.parse(first, last)
    sort = sort if sort in _SORTS else "calls"
    listing = agents_api.list_agents(created_after=span.created_after, created_before=span.created_before,
                                     caller=caller, store=store)
    return templates.TemplateResponse(request, "agents.html", {
        "caller": caller, "agents": _sorted(listing.items, sort), "span": span, "sort": sort, "metrics": METRICS,
        "agent_path": agent_path,
    })


@router.get("/agents/{agent_id}", response_class=HTMLResponse)
def agent_page(
    request: Request,
    agent_id: str,
    bucket: TrendBucket = "day",
    first: str | None = Query(None, alias="from", max_length=10),
    last: str | None = Query(None, alias="to", max_length=10),
    caller: ApiKeyRecord = Depends(console_caller),
    store: CallStore = Depends(get_store),
) -> HTMLResponse:
    span = DateRange.parse(first, last)
    try:
        agent = agents_api.get_agent(agent_id, bucket=bucket, created_after=span.created_after,
                                     created_before=span.created_before, caller=caller, store=store)
    except NotFoundError:
        return error_page(request, 404, f"No call of tenant {caller.tenant} names the agent “{agent_id}”.",
                          code="not_found", caller=caller, title="Agent not found")
    return templates.TemplateResponse(request, "agent.html", {
        "caller": caller, "agent": agent, "span": span, "metrics": METRICS, "charts": trend_charts(agent),
        "agent_path": agent_path, "calls_url": calls_of(agent_id),
    })


@dataclass(frozen=True)
class TrendChart:
    """One metric over the agent's buckets, as the JSON charts.js draws (`data`)."""

    id: str
    metric: Metric
    data: dict[str, Any]


def trend_charts(agent: agents_api.AgentView) -> list[TrendChart]:
    """A chart per metric, a point per bucket (a bucket whose calls lack the figure is a gap)."""
    labels = [b.start.isoformat() for b in agent.trend]
    charts = []
    for metric in METRICS:
        values = [getattr(b, metric.field) for b in agent.trend]
        if metric.chart == "bars":
            data = {"labels": labels, "series": [{"label": metric.title, "values": values, "color": "--accent"}],
                    "y": metric.y or {}}
        else:
            data = {"labels": labels, "x": {"time": True}, "y": metric.y or {},
                    "series": [{"label": metric.title, "points": [[x, y] for x, y in zip(labels, values)]}]}
        charts.append(TrendChart(id=f"trend-{metric.field}", metric=metric, data=data))
    return charts
