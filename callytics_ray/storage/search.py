"""Full-text search over utterances: SQLite FTS5 or PostgreSQL tsvector, same results shape."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import Connection

from callytics_ray.storage.models import SearchHit

_TOKEN = re.compile(r"\w+", re.UNICODE)


def _fts5_query(query: str) -> str:
    # Quote every token: user text must never be parsed as FTS5 syntax (AND, NEAR, "*", ...).
    return " ".join(f'"{t}"' for t in _TOKEN.findall(query))


def index_utterances(conn: Connection, rows: list[tuple[int, str, str]]) -> None:
    """Add (utterance_id, call_id, text) rows to the SQLite index (PostgreSQL indexes by itself)."""
    if conn.dialect.name != "sqlite" or not rows:
        return
    conn.execute(
        text("INSERT INTO utterance_fts (text, call_id, utterance_id) VALUES (:text, :call_id, :utterance_id)"),
        [{"utterance_id": u, "call_id": c, "text": t} for u, c, t in rows],
    )


def unindex_call(conn: Connection, call_id: str) -> None:
    if conn.dialect.name == "sqlite":
        conn.execute(text("DELETE FROM utterance_fts WHERE call_id = :c"), {"c": call_id})


def search_utterances(conn: Connection, query: str, *, tenant: str | None, limit: int) -> list[SearchHit]:
    """Utterances matching every word of `query`, best first."""
    if not _TOKEN.search(query):
        return []
    tenant_clause = "AND c.tenant = :tenant" if tenant is not None else ""
    if conn.dialect.name == "sqlite":
        sql = (
            "SELECT u.call_id, u.id, u.start, u.\"end\", u.speaker, u.text FROM utterance_fts f "
            "JOIN utterances u ON u.id = f.utterance_id JOIN calls c ON c.id = u.call_id "
            f"WHERE utterance_fts MATCH :q {tenant_clause} ORDER BY f.rank LIMIT :limit"
        )
        params = {"q": _fts5_query(query), "limit": limit, "tenant": tenant}
    else:
        sql = (
            "SELECT u.call_id, u.id, u.start, u.\"end\", u.speaker, u.text FROM utterances u "
            "JOIN calls c ON c.id = u.call_id "
            "WHERE to_tsvector('simple', u.text) @@ plainto_tsquery('simple', :q) "
            f"{tenant_clause} ORDER BY ts_rank(to_tsvector('simple', u.text), plainto_tsquery('simple', :q)) DESC "
            "LIMIT :limit"
        )
        params = {"q": query, "limit": limit, "tenant": tenant}
    rows = conn.execute(text(sql), params).all()
    return [
        SearchHit(call_id=r[0], utterance_id=r[1], start=r[2], end=r[3], speaker=r[4], text=r[5]) for r in rows
    ]
