"""Per-key request rate limit, global across gateway replicas.

The budget of each key lives in the database (`CallStore.take_rate_token`, GCRA: a token bucket of
`per_minute` requests refilled continuously), not in the process: with N gateway replicas a key
still gets `per_minute` requests a minute in all, not N times that.

Why the database and not a named Ray actor: the core stays Ray-free and the same limit holds for
every way the gateway runs (one `callytics serve`, several of them over one database, Serve
replicas); the database is already the shared state every replica reaches; and the budget
survives a replica's restart. It costs one small write per authenticated request: on Serve that
write goes through the database service like every other (the gateway's engine is read-only by
design, and `take_rate_token` is a `@writes` method, so ServeCallStore forwards it), one
round-trip of about a millisecond on the same node. Routes call the limiter from worker threads
(FastAPI runs the synchronous auth dependency in its thread pool), where that blocking call is
allowed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class RateLimitStore(Protocol):
    def take_rate_token(self, key: str, *, per_minute: int, now: float) -> float: ...


class RateLimiter:
    """`per_minute` requests per key a minute (bursts of up to `per_minute`), over a shared store.

    Example:
        >>> limiter = RateLimiter(store, per_minute=60)
        >>> limiter.acquire("key:3f2a9c1d")   # 0.0 when allowed, else seconds until it would be
        0.0
    """

    def __init__(self, store: RateLimitStore, per_minute: int, *, clock: Callable[[], float] = time.time) -> None:
        # Wall-clock time, not monotonic: the budget is shared by processes (and hosts).
        self.per_minute = per_minute
        self._store = store
        self._clock = clock

    def acquire(self, key: str) -> float:
        """Take one request of `key`'s budget.

        Returns:
            0.0 when the request may go ahead, else the seconds until the next one would.
        """
        if self.per_minute <= 0:
            return 0.0
        asked = self._clock()
        wait_s = self._store.take_rate_token(key, per_minute=self.per_minute, now=asked)
        if wait_s <= 0:
            return 0.0
        # The wait counts from the answer, not from the question: the write may have waited for
        # the database's lock behind other requests (seconds under a burst on SQLite).
        return max(wait_s - (self._clock() - asked), 0.001)
