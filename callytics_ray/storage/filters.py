"""`CallFilter` as SQL conditions: the one place listing and search decide which calls pass."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.sql.elements import ColumnElement

from callytics_ray.storage.models import CallFilter
from callytics_ray.storage.tables import Call


def call_conditions(filters: CallFilter) -> list[ColumnElement[bool]]:
    """WHERE conditions on `Call` for every field `filters` sets (they combine with AND).

    A call without a duration fails either duration bound (SQL compares NULL as unknown).
    """
    conditions: list[ColumnElement[bool]] = []
    for column, value in (
        (Call.tenant, filters.tenant),
        (Call.language, filters.language),
        (Call.agent_id, filters.agent_id),
        (Call.customer_id, filters.customer_id),
        (Call.sentiment_label, filters.sentiment),
        (Call.status, filters.status),
    ):
        if value is not None:
            conditions.append(column == value)
    if filters.flag is not None:
        conditions.append(Call.flags.contains(f",{filters.flag},", autoescape=True))
    if filters.created_after is not None:
        conditions.append(Call.created_at >= as_utc(filters.created_after))
    if filters.created_before is not None:
        conditions.append(Call.created_at < as_utc(filters.created_before))
    if filters.min_duration_s is not None:
        conditions.append(Call.duration_s >= filters.min_duration_s)
    if filters.max_duration_s is not None:
        conditions.append(Call.duration_s <= filters.max_duration_s)
    return conditions


def as_utc(value: datetime) -> datetime:
    """SQLite drops time zones; compare everything as UTC (a naive time is taken as UTC)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
