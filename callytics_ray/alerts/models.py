"""What alerts are made of: a tenant's subscription (which categories, which URL, its secret), the
deliveries stored for calls that matched, and the attempts to send them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator

from callytics_ray.analytics.rules import NAME_PATTERN

EVENT_TYPE = "call.category_matched"
ALL_CATEGORIES = "*"

DeliveryStatus = Literal["pending", "delivered", "failed"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlertSubscription(_Model):
    """A webhook that is told when one of the tenant's calls matches one of `categories`.

    Attributes:
        categories: category names (of any of the tenant's category sets), or ["*"] for all.
        url: an http or https URL the JSON body is POSTed to.
        secret: the HMAC-SHA256 key of the signature header; write-only (never returned). None
            when replacing a stored subscription keeps its secret.
    """

    name: str = Field(pattern=NAME_PATTERN)
    description: str = Field("", max_length=500)
    categories: list[str] = Field(min_length=1, max_length=500)
    url: HttpUrl
    secret: SecretStr | None = None
    active: bool = True

    @field_validator("categories")
    @classmethod
    def _category_names(cls, names: list[str]) -> list[str]:
        if ALL_CATEGORIES in names and len(names) > 1:
            raise ValueError(f"'{ALL_CATEGORIES}' (every category) stands alone")
        bad = [n for n in names if n != ALL_CATEGORIES and not re.fullmatch(NAME_PATTERN, n)]
        if bad:
            raise ValueError(f"not category names: {', '.join(map(repr, bad))}")
        return sorted(set(names))

    @field_validator("secret")
    @classmethod
    def _secret_length(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and not 16 <= len(secret.get_secret_value()) <= 256:
            raise ValueError("a secret is 16 to 256 characters (a random one: python -c "
                             "'import secrets; print(secrets.token_urlsafe(32))')")
        return secret

    def covers(self, category: str) -> bool:
        return self.categories == [ALL_CATEGORIES] or category in self.categories


class StoredAlert(_Model):
    """A subscription as the API shows it: everything but the secret."""

    name: str
    description: str = ""
    categories: list[str]
    url: str
    active: bool
    created_at: datetime
    updated_at: datetime


class NewDelivery(_Model):
    """A delivery to store: one alert, one call, one matched category, its body built already."""

    id: str
    tenant: str
    alert: str
    call_id: str
    category_set: str
    category: str
    payload_json: str


class DeliveryAttempt(_Model):
    """One try to send a delivery. `status_code` None: no HTTP answer (`error` says why)."""

    number: int
    started_at: datetime
    duration_ms: float
    status_code: int | None = None
    error: str | None = None


class StoredDelivery(_Model):
    """A delivery and its log. `next_attempt_at` is when a pending one is sent (again)."""

    id: str
    alert: str
    call_id: str
    category_set: str
    category: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime
    updated_at: datetime
    attempt_log: list[DeliveryAttempt] = []


class DeliveryTask(_Model):
    """A claimed delivery, with what sending it needs. `attempt` counts this one (1 = first)."""

    id: str
    tenant: str
    alert: str
    url: str
    secret: SecretStr
    payload_json: str
    attempt: int


class AttemptOutcome(_Model):
    """What one attempt came to and what happens next.

    Attributes:
        status: "delivered"; "pending" (to be retried at `retry_at`, epoch seconds); "failed".
    """

    status: DeliveryStatus
    started_at: datetime
    duration_ms: float
    status_code: int | None = None
    error: str | None = None
    retry_at: float | None = None
