"""Engine creation and schema set-up. No module-level engine: each process builds its own."""

from __future__ import annotations

import logging
import sqlite3

from sqlalchemy import event, inspect, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import SQLModel, create_engine

from callytics_ray.errors import ConfigError
from callytics_ray.storage import tables  # noqa: F401  (registers the tables on SQLModel.metadata)

logger = logging.getLogger(__name__)


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for bare postgres URLs (SQLAlchemy would pick psycopg2)."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare) :]
    return url


def make_engine(url: str, *, echo: bool = False, read_only: bool = False) -> Engine:
    """An engine for `url` (SQLite file or PostgreSQL), with the schema created.

    Args:
        read_only: every connection refuses to change data (the database itself says no), for a
            process whose writes must all go elsewhere. The schema is still created first: that
            is idempotent, and whichever process starts first may find an empty database.

    Raises:
        ConfigError: read_only on an in-memory SQLite database (no other process can write it).
    """
    url = normalize_url(url)
    if url.startswith("sqlite"):
        if read_only and make_url(url).database in (None, "", ":memory:"):
            raise ConfigError("a read-only engine needs a database file that another process writes")
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, echo=echo, pool_pre_ping=True)
    init_db(engine)
    if read_only:
        # Drop the connections that created the schema: only new ones pass through the listener.
        engine.dispose()
        event.listen(engine, "connect", _refuse_writes)
    return engine


def _refuse_writes(dbapi_connection, _record) -> None:
    # Both dialects refuse INSERT, UPDATE, DELETE and DDL on such a connection; reads are unchanged.
    cursor = dbapi_connection.cursor()
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor.execute("PRAGMA query_only=ON")
    else:
        cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    cursor.close()
    # psycopg runs the SET in a transaction of its own, and a SET rolled back is undone.
    dbapi_connection.commit()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the gateway read while a worker writes; foreign keys make deletes cascade.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def init_db(engine: Engine) -> None:
    """Create tables, columns added since a database was made, and the dialect's full-text index
    (idempotent)."""
    SQLModel.metadata.create_all(engine)
    add_missing_columns(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE VIRTUAL TABLE IF NOT EXISTS utterance_fts USING fts5("
                    "text, call_id UNINDEXED, utterance_id UNINDEXED, tokenize='unicode61')"
                )
            )
        elif engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "CREATE INDEX IF NOT EXISTS ix_utterances_fts ON utterances "
                    "USING gin (to_tsvector('simple', text))"
                )
            )


def add_missing_columns(engine: Engine) -> list[str]:
    """Add the columns a newer release declares to the tables of an older database.

    `create_all` makes missing tables only. New columns are always nullable, so adding them keeps
    every stored row valid; they fill in as calls are analysed (or re-analysed) again. Returns the
    `table.column` names added.

    Raises:
        ConfigError: a missing column is NOT NULL (that needs a real migration).
    """
    inspector = inspect(engine)
    added: list[str] = []
    for table in SQLModel.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable:
                raise ConfigError(f"the database lacks the NOT NULL column {table.name}.{column.name}: "
                                  "migrate it, or start from a new database")
            ddl = column.type.compile(engine.dialect)
            # Several processes may upgrade the same database at once: PostgreSQL says IF NOT
            # EXISTS; SQLite cannot, and a lost race there shows as "duplicate column".
            guard = "IF NOT EXISTS " if engine.dialect.name == "postgresql" else ""
            try:
                with engine.begin() as conn:
                    conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN {guard}"{column.name}" {ddl}'))
            except OperationalError as err:
                if "duplicate column" not in str(err).lower():
                    raise
            logger.info("database upgraded: added column %s.%s", table.name, column.name)
            added.append(f"{table.name}.{column.name}")
    return added


def ping(engine: Engine) -> None:
    """Raise if the database cannot be reached."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def database_unavailable(err: BaseException) -> bool:
    """Whether `err` (or an error it was raised from) says the database could not be reached or was
    busy: a server restarting, a dropped connection, SQLite's lock timeout. Such a failure is
    transient: what hit it should be tried again later, not recorded as the call's fault."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (OperationalError, InterfaceError)):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False
