"""Response headers that protect the browser side of the gateway, and CORS only when configured.

Every response gets `X-Content-Type-Options: nosniff` and `Referrer-Policy`; HTML responses (the
console's pages and error pages) also a Content-Security-Policy and `X-Frame-Options`. The policy
allows scripts from the gateway's own origin only (the console's scripts and the vendored
libraries under /console/static; its chart data blocks are `type="application/json"`, which no
browser runs). Styles also allow inline ones: the pages size bars and place timeline turns with
`style` attributes, and wavesurfer.js styles its shadow DOM with a `<style>` element; an inline
style can restyle a page but cannot run code.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastapi import FastAPI

from callytics_ray.settings import ApiSettings

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
_EVERY_RESPONSE = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"))
_HTML_RESPONSE = ((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()), (b"x-frame-options", b"DENY"))


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response (plain ASGI: streaming bodies pass untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                extra = _EVERY_RESPONSE + (_HTML_RESPONSE if content_type.startswith(b"text/html") else ())
                headers.extend((name, value) for name, value in extra if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_browser_protection(app: FastAPI, api: ApiSettings) -> None:
    """Security headers on every response; CORS only for `api.cors_allow_origins` (none by
    default: no Access-Control-Allow-Origin is ever sent, so other origins' scripts cannot read
    answers or send the preflighted requests the console's writes need)."""
    if api.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(api.cors_allow_origins),
            allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Idempotency-Key"],
            expose_headers=["Location", "Retry-After", "Content-Range"],
        )
    # Outermost, around Starlette's ServerErrorMiddleware: the page of an unexpected error (500)
    # is sent from there, past every middleware `add_middleware` installs.
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: SecurityHeadersMiddleware(build_stack())  # type: ignore[method-assign]
