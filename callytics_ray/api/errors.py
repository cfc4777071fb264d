"""HTTP errors of the gateway and the one place that turns every error into a JSON response.

Every error body is `{"error": {"code": ..., "message": ..., "details": ...}}`; `code` is a stable
machine-readable string (for audio problems, the `reason` of the AudioError subclass).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from callytics_ray.errors import (
    AudioError,
    CallyticsError,
    ConfigError,
    LLMError,
    ModelNotFoundError,
    NotFoundError,
    StageError,
)
from callytics_ray.storage.db import database_unavailable

logger = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[Any] | None = None


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class ApiError(CallyticsError):
    """An error that only exists at the HTTP boundary. Subclasses fix `status` and `code`."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.headers = headers or {}


class BadRequestError(ApiError):
    status, code = 400, "bad_request"


class UnauthorizedError(ApiError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class ForbiddenError(ApiError):
    status, code = 403, "forbidden"


class ConflictError(ApiError):
    status, code = 409, "conflict"


class GoneError(ApiError):
    status, code = 410, "gone"


class PayloadTooLargeError(ApiError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaTypeError(ApiError):
    status, code = 415, "unsupported_media_type"


class RateLimitedError(ApiError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, math.ceil(retry_after_s)))})


def _status_and_code(err: CallyticsError) -> tuple[int, str]:
    if isinstance(err, ApiError):
        return err.status, err.code
    if isinstance(err, AudioError):
        return 422, err.reason
    if isinstance(err, NotFoundError):
        return 404, "not_found"
    if isinstance(err, ConfigError):
        return 400, "invalid_request"
    if isinstance(err, ModelNotFoundError):
        return 503, "model_unavailable"
    if isinstance(err, LLMError):
        return 503, "llm_unavailable"
    if isinstance(err, StageError):
        return 503, "stage_unavailable"
    return 500, "internal_error"


def error_response(status: int, code: str, message: str, *, details: list[Any] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, details=details))
    return JSONResponse(jsonable_encoder(body, exclude_none=True), status_code=status, headers=headers)


async def _callytics_error(_request: Request, err: CallyticsError) -> JSONResponse:
    status, code = _status_and_code(err)
    if status >= 500:
        logger.error("request failed: %s", err)
    return error_response(status, code, str(err), headers=getattr(err, "headers", None))


async def _validation_error(_request: Request, err: RequestValidationError) -> JSONResponse:
    details = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in err.errors()
    ]
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return error_response(422, "validation_error", f"{where}: {first['msg']}" if where else first["msg"],
                          details=details)


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
               415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited"}


async def _http_error(_request: Request, err: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(err.status_code, "error" if err.status_code < 500 else "internal_error")
    message = err.detail if isinstance(err.detail, str) else "request failed"
    return error_response(err.status_code, code, message, headers=getattr(err, "headers", None))


async def _database_error(request: Request, err: DBAPIError) -> JSONResponse:
    if not database_unavailable(err):
        return await _unexpected_error(request, err)
    # A database restart or a lock timeout: the client should come back shortly.
    logger.warning("database unavailable: %s", err)
    return error_response(503, "database_unavailable", "the database is unavailable for a moment; retry shortly",
                          headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)})


async def _data_error(_request: Request, err: DataError) -> JSONResponse:
    # The database refused a value the caller sent (PostgreSQL: a NUL character in a search, a
    # filter or a field; a number out of range): the caller's input, so a 400; the SQL stays in the log.
    logger.info("database refused a request value: %s", err.orig)
    return error_response(400, "invalid_input", "the request holds a value the database cannot take "
                          "(a NUL character, or a number out of range)")


async def _unexpected_error(_request: Request, err: Exception) -> JSONResponse:
    logger.exception("unhandled error in the gateway")
    return error_response(500, "internal_error", f"internal error ({type(err).__name__}); see the gateway log")


DATABASE_RETRY_AFTER_S = 5


def install_error_handlers(app: FastAPI) -> None:
    """Route every error the app can raise through the JSON error shape."""
    app.add_exception_handler(CallyticsError, _callytics_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Also the database service's errors on Serve: Ray re-raises them as subclasses of the cause.
    # The most specific handler wins: a DataError is the caller's value, other DBAPIErrors the database.
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)
