"""`CallSort` as an SQL ORDER BY: the one place listing and search decide the order of calls."""

from __future__ import annotations

from sqlalchemy.sql.elements import ColumnElement

from callytics_ray.storage.models import CallSort
from callytics_ray.storage.tables import Call


def call_order(sort: CallSort) -> list[ColumnElement]:
    """ORDER BY terms for `sort`: NULLs last in both directions, then by id (a stable tiebreak,
    so that offset pages neither repeat nor skip calls with equal values)."""
    column = getattr(Call, sort.column)
    direction = column.desc() if sort.descending else column.asc()
    return [direction.nulls_last(), Call.id.asc()]
