"""Per-key request rate limit: one token bucket per key, in this process.

With several gateway replicas each replica keeps its own buckets, so a key's effective limit is
`rate_limit_per_minute` times the number of replicas its requests are spread over. That keeps the
check off the database on every request; a hard global limit would need a shared counter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets of `per_minute` capacity that refill at `per_minute / 60` tokens a second.

    Thread-safe: FastAPI runs synchronous dependencies in a thread pool.

    Example:
        >>> limiter = RateLimiter(per_minute=60)
        >>> limiter.acquire("key-prefix")   # 0.0 when allowed, else seconds until a token is free
        0.0
    """

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """Take one token for `key`.

        Returns:
            0.0 when the request may go ahead, else the seconds until the next token.
        """
        if self.per_minute <= 0:
            return 0.0
        rate_per_s = self.per_minute / 60.0
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self._max_keys:
                    self._drop_full(now, rate_per_s)
                bucket = self._buckets[key] = _Bucket(float(self.per_minute), now)
            bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.updated) * rate_per_s)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / rate_per_s

    def _drop_full(self, now: float, rate_per_s: float) -> None:
        # A bucket that has refilled completely carries no information: forget it.
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * rate_per_s >= self.per_minute]
        for key in full:
            del self._buckets[key]
