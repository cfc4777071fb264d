"""What every console page shares: the templates, the signed-in caller, where assets live.

The page modules (calls_pages, call_pages, upload_pages, agents_pages, experiments_pages,
vocabulary_pages, error_pages) build on this; routes.py mounts them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from callytics_ray.api.console.format import clock, mark
from callytics_ray.api.deps import KEY_COOKIE, authenticate
from callytics_ray.api.errors import ForbiddenError, UnauthorizedError
from callytics_ray.storage.keys import ApiKeyRecord

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
# The browser libraries scripts/setup.sh copies from the pinned npm packages (package-lock.json).
VENDOR_FILES = ("htmx.min.js", "wavesurfer.min.js", "wavesurfer.regions.min.js", "chart.umd.min.js")
PREFIX = "/console"
SIGN_IN = f"{PREFIX}/sign-in"

templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
templates.env.filters["clock"] = clock
templates.env.filters["mark"] = mark


class SignInRequired(Exception):
    """No valid key in the session: the page answers with the sign-in page, never with data."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def console_caller(request: Request) -> ApiKeyRecord:
    """The signed-in caller (the API's own check, on the session cookie); else SignInRequired."""
    try:
        caller = authenticate(request, request.cookies.get(KEY_COOKIE))
    except UnauthorizedError:
        raise SignInRequired(local_path(str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")))
    # Every console page shows call data: the API's read scope, checked as the API checks it.
    if not caller.allows("read"):
        raise ForbiddenError(f"this API key lacks the 'read' scope the console needs (it has: {', '.join(caller.scopes)})")
    return caller


def local_path(url: str | None) -> str:
    """`url` when it is a console path on this origin (no open redirect), else the calls page."""
    if not url:
        return f"{PREFIX}/calls"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX + "/") or parts.path == SIGN_IN:
        return f"{PREFIX}/calls"
    return url


def render_page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def missing_vendor_files() -> list[str]:
    return [name for name in VENDOR_FILES if not (STATIC_DIR / "vendor" / name).is_file()]
