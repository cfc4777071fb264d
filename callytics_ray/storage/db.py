"""Engine creation and schema set-up. No module-level engine: each process builds its own."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event, inspect, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import SQLModel, create_engine

from callytics_ray.errors import ConfigError
from callytics_ray.storage import tables  # noqa: F401  (registers the tables on SQLModel.metadata)

logger = logging.getLogger(__name__)

# Whether the running code is inside a store write (`storage.base.writes`, `writing()`): a SQLite
# transaction begun there takes the write lock at once (see _sqlite_begin). A ContextVar, so each
# thread and task has its own answer.
_writing: ContextVar[bool] = ContextVar("callytics_store_writing", default=False)


@contextmanager
def writing() -> Iterator[None]:
    """Mark the transactions begun inside as writes: on SQLite they begin with BEGIN IMMEDIATE, so
    what they read before writing is read under the write lock, and a busy database is waited for
    (busy_timeout) instead of failing with "database is locked"."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


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
        event.listen(engine, "begin", _sqlite_begin)
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
    # SQLAlchemy begins transactions itself (_sqlite_begin): the driver's own BEGIN comes only
    # before the first INSERT/UPDATE/DELETE, so what a write read first ran outside its transaction.
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection) -> None:
    # A write begins IMMEDIATE: it waits (busy_timeout) for the write lock before reading. A
    # deferred transaction that reads, then writes after another connection committed, fails at
    # once with "database is locked" (SQLITE_BUSY_SNAPSHOT: no timeout can help it); and reads
    # outside the write's transaction let two writers both see "no row yet" (a duplicate insert) or
    # a lease that has just been taken over. Reads begin deferred, so they never wait for a writer.
    connection.exec_driver_sql("BEGIN IMMEDIATE" if _writing.get() else "BEGIN")


def init_db(engine: Engine) -> None:
    """Create tables, columns added since a database was made, and the dialect's full-text index
    (idempotent)."""
    with writing():  # several processes may start on one new database at once
        _create_schema(engine)


def _create_schema(engine: Engine) -> None:
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
