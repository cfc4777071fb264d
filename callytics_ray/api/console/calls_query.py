"""The calls table's state as its URL carries it: filters, sort and page.

Read leniently from the query string (a form's empty field, or a value edited by hand that is not
valid, means "no such filter", never an error page), and written back as the one canonical URL
that the table's links, the pager and the browser history use.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from callytics_ray.api.calls import StatusName
from callytics_ray.headline import CallFlag
from callytics_ray.result import SentimentLabel
from callytics_ray.storage import CallSort
from callytics_ray.storage.models import NEWEST_FIRST

CALLS_PATH = "/console/calls"
PAGE_SIZES = (10, 20, 50, 100)
DEFAULT_PAGE_SIZE = 20


class TableQuery(BaseModel):
    """What the calls table shows. `date_from` and `date_to` are whole UTC days, both included."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    q: str | None = Field(None, max_length=500)
    date_from: date | None = None
    date_to: date | None = None
    agent_id: str | None = Field(None, max_length=128)
    customer_id: str | None = Field(None, max_length=128)
    language: str | None = Field(None, max_length=16)
    sentiment: SentimentLabel | None = None
    status: StatusName | None = None
    min_duration_s: float | None = Field(None, ge=0)
    max_duration_s: float | None = Field(None, ge=0)
    flag: CallFlag | None = None
    sort: CallSort | None = None
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=500)
    offset: int = Field(0, ge=0)

    @field_validator("*", mode="wrap")
    @classmethod
    def _invalid_is_unset(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        default = cls.model_fields[info.field_name].default
        if isinstance(value, str):
            value = value.strip()
        if value in ("", None):
            return default
        try:
            return handler(value)
        except ValidationError:
            return default

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> TableQuery:
        return cls.model_validate({name: params.get(name) for name in cls.model_fields})

    @property
    def effective_sort(self) -> CallSort | None:
        """The order shown: `sort`, else newest first; a search without `sort` is by relevance (None)."""
        return self.sort if self.sort is not None or self.q else NEWEST_FIRST

    def api_arguments(self) -> dict[str, Any]:
        """The keyword arguments of `callytics_ray.api.calls.list_calls` for this table."""
        return {
            "q": self.q, "status": self.status, "language": self.language, "agent_id": self.agent_id,
            "customer_id": self.customer_id, "sentiment": self.sentiment, "flag": self.flag,
            "created_after": _midnight(self.date_from) if self.date_from else None,
            "created_before": _midnight(self.date_to + timedelta(days=1)) if self.date_to else None,
            "min_duration_s": self.min_duration_s, "max_duration_s": self.max_duration_s,
            "sort": self.sort, "limit": self.limit, "offset": self.offset,
        }

    def url(self, **changes: Any) -> str:
        """This table's canonical URL (only what differs from the defaults), with `changes` applied."""
        query = self.model_copy(update=changes)
        params = {
            name: query.field_text(name) for name, value in query.model_dump().items()
            if value is not None and value != self.model_fields[name].default
        }
        return f"{CALLS_PATH}?{urlencode(params)}" if params else CALLS_PATH

    def field_text(self, name: str) -> str:
        """Field `name` as a form input shows it ("" when unset)."""
        value = getattr(self, name)
        return "" if value is None else _text(value)

    def sort_url(self, column: str) -> str:
        """Where a click on `column`'s header leads: the other direction when the table is
        sorted on it, else ascending; always back to the first page."""
        current = self.effective_sort
        descending = current is not None and current.column == column and not current.descending
        return self.url(sort=CallSort.by(column, descending=descending), offset=0)

    def aria_sort(self, column: str) -> str | None:
        current = self.effective_sort
        if current is None or current.column != column:
            return None
        return "descending" if current.descending else "ascending"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def _text(value: Any) -> str:
    if isinstance(value, CallSort | CallFlag):
        return value.value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
