"""The per-key request rate limit, kept in the database so that every gateway replica (and every
`callytics serve` process) draws on one budget per key.

GCRA (the generic cell rate algorithm): a key's state is one number, its "theoretical arrival time"
`tat`. Each request moves it `60 / per_minute` seconds on from max(tat, now), and is allowed while
that lands at most one minute ahead of now: the same answers as a token bucket of `per_minute`
tokens refilled continuously (bursts of up to `per_minute`, then `per_minute / 60` a second),
with one row per key and one atomic statement per request. The statement is an upsert whose
update only happens when the request fits (INSERT ... ON CONFLICT DO UPDATE ... WHERE, the same
text on SQLite and PostgreSQL): concurrent requests of one key serialize on its row (PostgreSQL
re-checks the WHERE on the row it locked; SQLite has one writer), so replicas together can never
let more through than one process would.
"""

from __future__ import annotations

from sqlalchemy import text

from callytics_ray.storage.base import Repository, writes

WINDOW_S = 60.0

# :now and :step in seconds; the new tat when the request fits, nothing when it does not.
_TAKE = text(
    "INSERT INTO rate_limits (key, tat) VALUES (:key, :now + :step) "
    "ON CONFLICT (key) DO UPDATE SET tat = "
    "(CASE WHEN rate_limits.tat > :now THEN rate_limits.tat ELSE :now END) + :step "
    "WHERE (CASE WHEN rate_limits.tat > :now THEN rate_limits.tat ELSE :now END) + :step <= :now + :window "
    "RETURNING tat"
)
_TAT = text("SELECT tat FROM rate_limits WHERE key = :key")


class RateLimitRepository(Repository):
    """Rate-limit budgets per key (`rate_limits` table)."""

    @writes
    def take_rate_token(self, key: str, *, per_minute: int, now: float) -> float:
        """Spend one of `key`'s `per_minute` requests a minute, at epoch time `now`.

        Returns:
            0.0 when the request may go ahead, else the seconds until it would.
        """
        step = WINDOW_S / per_minute
        # The tolerance keeps float rounding (60 / 7 added 7 times) from refusing the last of a burst.
        params = {"key": key, "now": now, "step": step, "window": WINDOW_S + 1e-6}
        with self.engine.begin() as conn:
            if conn.execute(_TAKE, params).first() is not None:
                return 0.0
            tat = conn.execute(_TAT, {"key": key}).scalar_one()
        return max(tat + step - now - WINDOW_S, 0.001)
