"""The webhook signature: HMAC-SHA256 over "<unix time>.<body>", sent as
`X-Callytics-Signature: t=<unix time>,v1=<hex digest>` (the scheme Stripe uses), so a receiver
proves the body came from us and unchanged, and refuses replays older than its tolerance."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Callytics-Signature"
DELIVERY_HEADER = "X-Callytics-Delivery"
EVENT_HEADER = "X-Callytics-Event"


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The value of the signature header for `body` sent at `timestamp` (epoch seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, tolerance_s: float = 300.0, now: float | None = None) -> bool:
    """Whether `header` signs `body` with `secret` and is at most `tolerance_s` old.

    What a receiver runs (the README shows the same in a few lines of standard library).
    """
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = signature(secret, body, timestamp).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))
