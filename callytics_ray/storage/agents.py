"""Per-agent figures of a tenant's calls: each question is one GROUP BY over the calls' headline
columns (callytics_ray.headline), the same SQL on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Float, case, cast, func, literal_column
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from callytics_ray.errors import ConfigError
from callytics_ray.storage.base import Repository
from callytics_ray.storage.filters import call_conditions
from callytics_ray.storage.models import AgentBucket, AgentFigures, AgentSummary, CallFilter, TrendBucket
from callytics_ray.storage.tables import Analysis, Call


def _figure_columns() -> list[ColumnElement]:
    """The aggregates of `AgentFigures`, in its field order, over `Call` outer-joined to `Analysis`."""
    analysed = Analysis.call_id.is_not(None)

    def mean(column) -> ColumnElement:
        # Only analysed calls count towards a mean (AVG skips the NULL the CASE gives the others).
        # The cast keeps PostgreSQL's AVG of an integer column a float, not a NUMERIC (Decimal).
        return func.avg(case((analysed, cast(column, Float))))

    return [
        func.count(Call.id).label("calls"),
        func.count(Analysis.call_id),
        func.coalesce(func.sum(Call.duration_s), 0.0),
        mean(Call.sentiment_score),
        mean(Call.agent_talk_share),
        mean(Call.agent_interruptions),
        mean(Call.agent_speaking_rate_wpm),
    ]


def _figures(values) -> dict[str, object]:
    return dict(zip(AgentFigures.model_fields, values, strict=True))


def bucket_start(dialect: str, bucket: TrendBucket) -> ColumnElement:
    """The first day of the call's bucket as 'YYYY-MM-DD' text, computed by the database.

    Bucketing is SQL (not Python over the rows) so a trend's figures come from the same
    aggregates as the agent list. The two dialects need different expressions that agree: a UTC
    day, or the Monday that starts the ISO week (PostgreSQL's date_trunc('week'); SQLite moves to
    the next-or-same Sunday and back six days). The constants are inlined, not bound, so the
    GROUP BY expression is textually the SELECT's (PostgreSQL requires that).

    Raises:
        ConfigError: neither SQLite nor PostgreSQL.
    """
    if bucket not in ("day", "week"):
        raise ValueError(f"unknown trend bucket {bucket!r}")
    if dialect == "sqlite":
        modifiers = [literal_column("'weekday 0'"), literal_column("'-6 days'")] if bucket == "week" else []
        return func.date(Call.created_at, *modifiers)
    if dialect == "postgresql":
        start = func.date_trunc(literal_column(f"'{bucket}'"), Call.created_at)
        return func.to_char(start, literal_column("'YYYY-MM-DD'"))
    raise ConfigError(f"per-agent trends need SQLite or PostgreSQL, not {dialect}")


class AgentRepository(Repository):
    """Read-only per-agent aggregates for `callytics_ray.api.agents` (nothing here writes)."""

    def agent_summaries(self, filters: CallFilter) -> list[AgentSummary]:
        """Each agent's figures over the calls passing `filters`, most calls first (then by id).

        Calls that name no agent are left out.
        """
        columns = _figure_columns()
        query = (
            select(Call.agent_id, func.min(Call.created_at), func.max(Call.created_at), *columns)
            .select_from(Call)
            .outerjoin(Analysis, Analysis.call_id == Call.id)
            .where(Call.agent_id.is_not(None), *call_conditions(filters))
            .group_by(Call.agent_id)
            .order_by(columns[0].desc(), Call.agent_id)
        )
        with Session(self.engine) as session:
            rows = session.exec(query).all()
        return [
            AgentSummary(agent_id=agent_id, first_call_at=first, last_call_at=last, **_figures(values))
            for agent_id, first, last, *values in rows
        ]

    def agent_trend(self, filters: CallFilter, *, bucket: TrendBucket = "day") -> list[AgentBucket]:
        """The figures of the calls passing `filters` (set `agent_id` for one agent's trend) per
        day or week, oldest first; a bucket without calls is not listed."""
        start = bucket_start(self.engine.dialect.name, bucket)
        query = (
            select(start, *_figure_columns())
            .select_from(Call)
            .outerjoin(Analysis, Analysis.call_id == Call.id)
            .where(*call_conditions(filters))
            .group_by(start)
            .order_by(start)
        )
        with Session(self.engine) as session:
            rows = session.exec(query).all()
        return [AgentBucket(start=first_day, **_figures(values)) for first_day, *values in rows]
