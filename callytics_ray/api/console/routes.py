"""Console routes: sign-in and sign-out, the calls table (and its htmx fragment); one call's page is call_pages.py."""

from __future__ import annotations

import logging
import typing
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from callytics_ray.api import calls as calls_api
from callytics_ray.api.calls import StatusName
from callytics_ray.api.deps import KEY_COOKIE, authenticate, get_settings, get_store
from callytics_ray.api.errors import UnauthorizedError
from callytics_ray.api.console.format import clock, mark
from callytics_ray.result import SentimentLabel
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import ApiKeyRecord

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
# The browser libraries scripts/setup.sh copies from the pinned npm packages (package-lock.json).
VENDOR_FILES = ("htmx.min.js", "wavesurfer.min.js", "wavesurfer.regions.min.js", "chart.umd.min.js")
PREFIX = "/console"
SIGN_IN = f"{PREFIX}/sign-in"
# Kept for the browser session only (no Max-Age): closing the browser signs out.
_COOKIE = {"httponly": True, "samesite": "strict", "path": "/"}

templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
templates.env.filters["clock"] = clock
templates.env.filters["mark"] = mark
router = APIRouter(prefix=PREFIX, include_in_schema=False)


class SignInRequired(Exception):
    """No valid key in the session: the page answers with the sign-in page, never with data."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def console_caller(request: Request) -> ApiKeyRecord:
    """The signed-in caller (the API's own check, on the session cookie); else SignInRequired."""
    try:
        return authenticate(request, request.cookies.get(KEY_COOKIE))
    except UnauthorizedError:
        raise SignInRequired(_local_path(str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")))


def _local_path(url: str | None) -> str:
    """`url` when it is a console path on this origin (no open redirect), else the calls page."""
    if not url:
        return f"{PREFIX}/calls"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX + "/") or parts.path == SIGN_IN:
        return f"{PREFIX}/calls"
    return url


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


render_page = _page  # for the page modules that have their own router (call_pages.py)


async def _sign_in_required(request: Request, err: SignInRequired) -> Response:
    target = f"{SIGN_IN}?next={quote(err.next_url, safe='')}"
    if request.headers.get("HX-Request"):
        # htmx follows this header with a full page load.
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def install_console(app: FastAPI) -> None:
    """Mount the console pages and their static files on the gateway app."""
    app.include_router(router)
    from callytics_ray.api.console.call_pages import router as call_pages_router  # it imports this module

    app.include_router(call_pages_router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    app.add_exception_handler(SignInRequired, _sign_in_required)
    if missing := missing_vendor_files():
        logger.warning("console assets %s missing in %s: run scripts/setup.sh (npm ci and the asset copy)",
                       ", ".join(missing), STATIC_DIR / "vendor")


def missing_vendor_files() -> list[str]:
    return [name for name in VENDOR_FILES if not (STATIC_DIR / "vendor" / name).is_file()]


@router.get("", response_class=RedirectResponse)
def console_home() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/calls", status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _page(request, "sign_in.html", next=_local_path(next), error=None)


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(request: Request, key: str = Form(""), next: str | None = Form(None)) -> Response:
    try:
        authenticate(request, key)
    except UnauthorizedError:
        return _page(request, "sign_in.html", status_code=401, next=_local_path(next),
                     error="That API key is not valid (or was revoked).")
    response = RedirectResponse(_local_path(next), status_code=303)
    response.set_cookie(KEY_COOKIE, key.strip(), secure=request.url.scheme == "https", **_COOKIE)
    return response


@router.post("/sign-out")
def sign_out() -> RedirectResponse:
    response = RedirectResponse(SIGN_IN, status_code=303)
    response.delete_cookie(KEY_COOKIE, **_COOKIE)
    return response


_STATUSES = typing.get_args(StatusName)
_SENTIMENTS = typing.get_args(SentimentLabel)


def _choice(value: str | None, allowed: tuple[str, ...]) -> Any:
    """A filter form's select: "" (any) or an unknown value means no filter."""
    return value if value in allowed else None


@router.get("/calls", response_class=HTMLResponse)
def calls_page(
    request: Request,
    q: str | None = Query(None, max_length=500),
    status: str | None = None,
    language: str | None = Query(None, max_length=16),
    sentiment: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    caller: ApiKeyRecord = Depends(console_caller),
    settings: Settings = Depends(get_settings),
    store: CallStore = Depends(get_store),
) -> HTMLResponse:
    """The calls table; to an htmx request from the filter form, the table alone (the URL it
    pushes is this page's, so reloading, sharing and the back button show the same filters)."""
    q, language = (q or "").strip() or None, (language or "").strip() or None
    status, sentiment = _choice(status, _STATUSES), _choice(sentiment, _SENTIMENTS)
    page = calls_api.list_calls(
        status=status, language=language, agent_id=None, customer_id=None, sentiment=sentiment,
        created_after=None, created_before=None, min_duration_s=None, max_duration_s=None,
        q=q, limit=limit, offset=offset, caller=caller, settings=settings, store=store,
    )
    filters = {"q": q or "", "status": status or "", "language": language or "", "sentiment": sentiment or ""}
    fragment = request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request")
    return _page(request, "_call_rows.html" if fragment else "calls.html", page=page, caller=caller, filters=filters)
