"""What the store's parts share: one engine, the tenant-aware call lookup, and the mark that says
which methods write."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Self, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session

from callytics_ray.errors import NotFoundError
from callytics_ray.storage.db import make_engine, ping, writing
from callytics_ray.storage.tables import Call

F = TypeVar("F", bound=Callable[..., object])

_WRITE_MARK = "__callytics_store_write__"


def writes(method: F) -> F:
    """Mark a store method as one that changes the database.

    Whoever must funnel every write through one place (the Serve gateway, through the database
    service) forwards exactly the marked methods, found with `write_methods`. The method runs
    inside `db.writing()`: on SQLite its transactions take the write lock when they begin.
    """

    @functools.wraps(method)
    def write(*args: Any, **kwargs: Any) -> Any:
        with writing():
            return method(*args, **kwargs)

    setattr(write, _WRITE_MARK, True)
    return write  # type: ignore[return-value]


def write_methods(cls: type) -> tuple[str, ...]:
    """The public methods of `cls` marked with `writes`, sorted by name."""
    return tuple(
        sorted(name for name in dir(cls) if not name.startswith("_") and getattr(getattr(cls, name), _WRITE_MARK, False))
    )


class Repository:
    """One engine; every method opens its own session, so a repository is thread-safe."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False) -> Self:
        return cls(make_engine(url, echo=echo))

    def ping(self) -> None:
        ping(self.engine)


def find_call(session: Session, call_id: str, tenant: str | None) -> Call:
    """The call row, for `tenant` when one is given.

    Raises:
        NotFoundError: no such call, or it belongs to another tenant.
    """
    call = session.get(Call, call_id)
    # Another tenant's call is reported exactly like a missing one: no existence leak.
    if call is None or (tenant is not None and call.tenant != tenant):
        raise NotFoundError(f"call {call_id} not found")
    return call
