"""What call drivers read and keep: each analysed call's reason (else its summary), taken out of
the stored result JSON by the database, and the cached embeddings of those texts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timezone

from sqlalchemy import JSON, cast, func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from callytics_ray.drivers.report import DriverCall, StoredEmbedding
from callytics_ray.errors import ConfigError
from callytics_ray.storage.base import Repository, writes
from callytics_ray.storage.filters import call_conditions
from callytics_ray.storage.models import CallFilter
from callytics_ray.storage.tables import Analysis, Call, CallEmbedding

_IN_CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


def _analysis_field(dialect: str, name: str) -> ColumnElement:
    """`analysis.<name>` of the stored result JSON, as text, read by the database (so a report
    over thousands of calls does not load their transcripts)."""
    if dialect == "sqlite":
        return func.json_extract(Analysis.result_json, f"$.analysis.{name}")
    if dialect == "postgresql":
        return func.json_extract_path_text(cast(Analysis.result_json, JSON), "analysis", name)
    raise ConfigError(f"call drivers need SQLite or PostgreSQL, not {dialect}")


class DriverRepository(Repository):
    """Reads for call drivers, and the one write: their embedding cache."""

    def driver_calls(self, filters: CallFilter, *, limit: int) -> tuple[list[DriverCall], int]:
        """The most recent `limit` analysed calls passing `filters` that have a reason or a
        summary (newest first), and how many such calls the filters pass in all."""
        dialect = self.engine.dialect.name
        reason, summary = _analysis_field(dialect, "reason"), _analysis_field(dialect, "summary")
        text = func.coalesce(func.nullif(func.trim(reason), ""), func.nullif(func.trim(summary), ""))
        conditions = [*call_conditions(filters), text.is_not(None)]
        base = select(Call.id).join(Analysis, Analysis.call_id == Call.id).where(*conditions)
        query = (
            select(Call.id, Call.created_at, reason, summary)
            .join(Analysis, Analysis.call_id == Call.id)
            .where(*conditions)
            .order_by(Call.created_at.desc(), Call.id)
            .limit(limit)
        )
        with Session(self.engine) as session:
            rows = session.exec(query).all()
            total = session.exec(select(func.count()).select_from(base.subquery())).one()
        calls = []
        for call_id, created_at, reason_text, summary_text in rows:
            created_at = created_at.replace(tzinfo=timezone.utc) if created_at.tzinfo is None else created_at
            if reason_text and reason_text.strip():
                calls.append(DriverCall(call_id, created_at, reason_text.strip(), "reason"))
            else:
                calls.append(DriverCall(call_id, created_at, summary_text.strip(), "summary"))
        return calls, int(total)

    def call_embeddings(self, call_ids: Sequence[str], model: str) -> dict[str, StoredEmbedding]:
        """The cached embeddings by `model` of these calls' driver texts."""
        found: dict[str, StoredEmbedding] = {}
        with Session(self.engine) as session:
            for start in range(0, len(call_ids), _IN_CHUNK):
                chunk = list(call_ids[start:start + _IN_CHUNK])
                query = select(CallEmbedding).where(CallEmbedding.model == model, CallEmbedding.call_id.in_(chunk))
                for row in session.exec(query):
                    found[row.call_id] = StoredEmbedding(row.call_id, row.text_hash, row.vector)
        return found

    @writes
    def save_call_embeddings(self, model: str, embeddings: Sequence[StoredEmbedding]) -> None:
        """Keep these embeddings by `model`, replacing a call's older one."""
        with Session(self.engine) as session:
            for e in embeddings:
                session.merge(CallEmbedding(call_id=e.call_id, model=model, text_hash=e.text_hash, vector=e.vector))
            session.commit()
