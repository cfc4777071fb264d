"""Console routes: sign-in and sign-out; `install_console` mounts every console page."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from callytics_ray.api.console import (
    agents_pages,
    call_pages,
    calls_pages,
    drivers_pages,
    error_pages,
    experiments_pages,
    upload_pages,
    vocabulary_pages,
)
from callytics_ray.api.console.pages import (
    PREFIX,
    SIGN_IN,
    STATIC_DIR,
    SignInRequired,
    local_path,
    missing_vendor_files,
    render_page,
)
from callytics_ray.api.deps import KEY_COOKIE, authenticate
from callytics_ray.api.errors import UnauthorizedError

logger = logging.getLogger(__name__)

# Kept for the browser session only (no Max-Age): closing the browser signs out.
_COOKIE = {"httponly": True, "samesite": "strict", "path": "/"}
router = APIRouter(prefix=PREFIX, include_in_schema=False)


async def _sign_in_required(request: Request, err: SignInRequired) -> Response:
    target = f"{SIGN_IN}?next={quote(err.next_url, safe='')}"
    if request.headers.get("HX-Request"):
        # htmx follows this header with a full page load.
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def install_console(app: FastAPI) -> None:
    """Mount the console pages and their static files on the gateway app."""
    app.include_router(router)
    app.include_router(calls_pages.router)
    app.include_router(call_pages.router)
    app.include_router(upload_pages.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.include_router(agents_pages.router)
    app.include_router(drivers_pages.router)
    app.include_router(experiments_pages.router)
    app.include_router(vocabulary_pages.router)
    error_pages.install_error_pages(app)
    if missing := missing_vendor_files():
        logger.warning("console assets %s missing in %s: run scripts/setup.sh (npm ci and the asset copy)",
                       ", ".join(missing), STATIC_DIR / "vendor")


@router.get("", response_class=RedirectResponse)
def console_home() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/calls", status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_inrender_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render_page(request, "sign_in.html", next=local_path(next), error=None)


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(request: Request, key: str = Form(""), next: str | None = Form(None)) -> Response:
    try:
        authenticate(request, key)
    except UnauthorizedError:
        return render_page(request, "sign_in.html", status_code=401, next=local_path(next),
                     error="That API key is not valid (or was revoked).")
    response = RedirectResponse(local_path(next), status_code=303)
    response.set_cookie(KEY_COOKIE, key.strip(), secure=request.url.scheme == "https", **_COOKIE)
    return response


@router.post("/sign-out")
def sign_out() -> RedirectResponse:
    response = RedirectResponse(SIGN_IN, status_code=303)
    response.delete_cookie(KEY_COOKIE, **_COOKIE)
    return response


