"""FastAPI dependencies: what a route needs, read from `request.app.state` (no globals), and auth.

A caller sends its key as `Authorization: Bearer <key>` or `X-API-Key: <key>`. The order of the
checks is: 401 (no or bad key), 429 (this key is over its rate), 403 (the key lacks the scope).

The console's sign-in keeps the key in an HttpOnly, SameSite=Strict cookie (`KEY_COOKIE`). The API
accepts it for GET and HEAD (an `<audio src>` cannot send a header), and for a write (the console's
upload, retry) only with the `CONSOLE_HEADER` header and, when the browser names one, an Origin
equal to the gateway's own: a cross-site form cannot set a header, and a cross-origin script
setting one needs a CORS preflight the gateway never grants. So a page elsewhere can never
submit, retry or delete with the cookie.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from callytics_ray.api.errors import ForbiddenError, RateLimitedError, UnauthorizedError
from callytics_ray.api.ratelimit import RateLimiter
from callytics_ray.api.runner import CallRunner
from callytics_ray.api.variants import VariantPicker
from callytics_ray.judgement import ItemJudge
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import SCOPES, ApiKeyRecord, verify_api_key
from callytics_ray.text.encoder import TextEncoder

_bearer = HTTPBearer(auto_error=False, description="An API key from `callytics keys create`.")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same key, as a header.")

KEY_COOKIE = "callytics_key"
CONSOLE_HEADER = "X-Callytics-Console"
_COOKIE_METHODS = frozenset({"GET", "HEAD"})

# The caller when auth_required is off (local trials): one tenant, every scope.
ANONYMOUS = ApiKeyRecord(id=0, prefix="anonymous", tenant="default", scopes=SCOPES, name="auth disabled")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_store(request: Request) -> CallStore:
    return request.app.state.store


def get_encoder(request: Request) -> TextEncoder | None:
    return request.app.state.encoder


def get_runner(request: Request) -> CallRunner:
    return request.app.state.runner


def get_judge(request: Request) -> ItemJudge | None:
    """The LLM judge of rubric llm items (None offline: they are not assessed)."""
    return request.app.state.judge


def get_variant_picker(request: Request) -> VariantPicker | None:
    return request.app.state.variant_picker


def _authenticate(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
    header_key: str | None = Depends(_api_key_header),
) -> ApiKeyRecord:
    """The caller's key record (401 without a valid key), after the rate limit (429)."""
    secret = bearer.credentials if bearer is not None else header_key
    if not secret and (request.method in _COOKIE_METHODS or _from_console(request)):
        secret = request.cookies.get(KEY_COOKIE)
    return authenticate(request, secret)


def _from_console(request: Request) -> bool:
    """A write sent by the console's own scripts (see the module docstring)."""
    if not request.headers.get(CONSOLE_HEADER):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin.rstrip("/") == str(request.base_url).rstrip("/")


def authenticate(request: Request, secret: str | None) -> ApiKeyRecord:
    """The record of the key `secret` (401 when missing or invalid), after the rate limit (429).

    The one auth check of the API and the console pages.
    """
    state = request.app.state
    if not state.settings.api.auth_required:
        caller = ANONYMOUS
        limit_key = f"ip:{request.client.host if request.client else 'unknown'}"
    else:
        if not secret:
            raise UnauthorizedError(
                "missing API key: send 'Authorization: Bearer <key>' (create one with `callytics keys create`)"
            )
        record = verify_api_key(state.store.engine, secret.strip())
        if record is None:
            raise UnauthorizedError("invalid or revoked API key")
        caller, limit_key = record, f"key:{record.prefix}"
    limiter: RateLimiter = state.rate_limiter
    wait_s = limiter.acquire(limit_key)
    if wait_s > 0:
        raise RateLimitedError(
            f"rate limit of {limiter.per_minute} requests per minute exceeded; retry in {wait_s:.1f} s",
            retry_after_s=wait_s,
        )
    return caller


def require(scope: str) -> Callable[..., ApiKeyRecord]:
    """A dependency that returns the caller when its key carries `scope` (or admin), else 403."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def dependency(caller: ApiKeyRecord = Depends(_authenticate)) -> ApiKeyRecord:
        if not caller.allows(scope):
            raise ForbiddenError(f"this API key lacks the '{scope}' scope (it has: {', '.join(caller.scopes)})")
        return caller

    dependency.__name__ = f"require_{scope}"
    return dependency
