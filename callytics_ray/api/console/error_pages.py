"""The console's error pages: a console page that fails (rate limited, not found, a server error)
answers with an HTML page giving the reason (and when to retry), never with the API's JSON.

The one place that decides: `install_error_pages` wraps each of the API's exception handlers
(callytics_ray.api.errors), so the API still decides the status, code, message and headers of
every error, and for a console path that answer is shown as a page; /v1 keeps its JSON.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from callytics_ray.api.console.pages import PREFIX, templates
from callytics_ray.api.errors import ErrorBody
from callytics_ray.errors import CallyticsError
from callytics_ray.storage.keys import ApiKeyRecord

# The exception classes callytics_ray.api.errors.install_error_handlers answers for.
_HANDLED = (CallyticsError, RequestValidationError, StarletteHTTPException, DataError, Exception)
# What an error page keeps of the API's answer besides its status (Retry-After above all).
_KEPT_HEADERS = ("retry-after", "www-authenticate", "content-range")

ExceptionHandler = Callable[[Request, Exception], Any]


def is_console_page(request: Request) -> bool:
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def error_page(
    request: Request,
    status: int,
    message: str,
    *,
    code: str | None = None,
    title: str | None = None,
    caller: ApiKeyRecord | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The console's page for an error: `title` (by default the status's name), the reason, and
    with a Retry-After header (seconds), when to try again."""
    headers = headers or {}
    retry_after = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    context = {
        "status": status, "code": code, "message": message, "caller": caller,
        "title": title or HTTPStatus(status).phrase, "retry_after": retry_after,
        "again": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    return templates.TemplateResponse(request, "error.html", context, status_code=status, headers=headers)


def install_error_pages(app: FastAPI) -> None:
    """Make the app's error handlers answer console paths with `error_page` (call it after
    `install_error_handlers`, whose handlers it wraps)."""
    for kind in _HANDLED:
        api_handler = app.exception_handlers.get(kind)
        if api_handler is not None:
            app.add_exception_handler(kind, _pages_for_console(api_handler))


def _pages_for_console(api_handler: ExceptionHandler) -> ExceptionHandler:
    async def handler(request: Request, err: Exception) -> Response:
        response = api_handler(request, err)
        if inspect.isawaitable(response):
            response = await response
        if not is_console_page(request):
            return response
        error = ErrorBody.model_validate_json(response.body).error
        kept = {name: value for name, value in response.headers.items() if name.lower() in _KEPT_HEADERS}
        return error_page(request, response.status_code, error.message, code=error.code, headers=kept)

    return handler
