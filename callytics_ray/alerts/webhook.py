"""Sending one delivery: a signed POST, and what its answer means for the next attempt.

Delivered on any 2xx. Retried with exponential backoff and jitter on no answer (connection
refused, timeout) and on 429 or 5xx, until `max_attempts`; failed at once on any other status
(a 4xx: the receiver refuses this body, sending it again changes nothing; a 3xx: redirects are
not followed, so a moved endpoint is noticed instead of silently posting elsewhere).
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

from callytics_ray import __version__
from callytics_ray.alerts.models import EVENT_TYPE, AttemptOutcome, DeliveryTask
from callytics_ray.alerts.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature
from callytics_ray.settings import AlertSettings

_RETRIED_STATUSES = frozenset({408, 425, 429})


def backoff_s(attempt: int, settings: AlertSettings, rng: random.Random) -> float:
    """The wait after failed attempt number `attempt` (1 = the first): exponential, capped, with
    a random half taken off so receivers that recover are not hit by every sender at once."""
    full = min(settings.backoff_s * 2 ** (attempt - 1), settings.max_backoff_s)
    return full / 2 + rng.uniform(0, full / 2)


def retry_after_s(response: httpx.Response) -> float | None:
    """A Retry-After header in seconds (either form), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def request_headers(task: DeliveryTask, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": f"Callytics-Webhooks/{__version__}",
        SIGNATURE_HEADER: signature(task.secret.get_secret_value(), body, timestamp),
        DELIVERY_HEADER: task.id,
        EVENT_HEADER: EVENT_TYPE,
    }


async def send(client: httpx.AsyncClient, task: DeliveryTask, settings: AlertSettings,
               rng: random.Random) -> AttemptOutcome:
    """POST `task`'s body, signed now, and say what comes next. Never raises for the receiver's
    faults: they are the outcome."""
    body = task.payload_json.encode()
    started_at, clock = datetime.now(timezone.utc), time.monotonic()
    try:
        response = await client.post(task.url, content=body, headers=request_headers(task, body, int(time.time())),
                                     timeout=settings.timeout_s)
    except httpx.HTTPError as err:
        return _next(task, settings, rng, started_at, clock, None, f"{type(err).__name__}: {err}".rstrip(": "))
    code = response.status_code
    if 200 <= code < 300:
        return AttemptOutcome(status="delivered", started_at=started_at, duration_ms=_ms(clock), status_code=code)
    error = f"HTTP {code}: {response.text[:settings.max_error_chars]}".rstrip(": ")
    if code in _RETRIED_STATUSES or code >= 500:
        return _next(task, settings, rng, started_at, clock, code, error, wait_s=retry_after_s(response))
    return AttemptOutcome(status="failed", started_at=started_at, duration_ms=_ms(clock), status_code=code,
                          error=error)


def _next(task: DeliveryTask, settings: AlertSettings, rng: random.Random, started_at: datetime, clock: float,
          code: int | None, error: str, *, wait_s: float | None = None) -> AttemptOutcome:
    error = error[:settings.max_error_chars]
    if task.attempt >= settings.max_attempts:
        return AttemptOutcome(status="failed", started_at=started_at, duration_ms=_ms(clock), status_code=code,
                              error=f"{error} (gave up after {task.attempt} attempts)")
    delay = backoff_s(task.attempt, settings, rng)
    if wait_s is not None:  # the receiver asked for longer; within our cap
        delay = max(delay, min(wait_s, settings.max_backoff_s))
    return AttemptOutcome(status="pending", started_at=started_at, duration_ms=_ms(clock), status_code=code,
                          error=error, retry_at=time.time() + delay)


def _ms(clock: float) -> float:
    return round((time.monotonic() - clock) * 1000, 1)
