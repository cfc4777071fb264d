"""The console: server-rendered pages (Jinja2 + htmx) for the people who review calls.

Served by the gateway itself (`create_app` mounts it), so it shares the API's origin, auth and
tenancy: sign-in checks an API key and keeps it in an HttpOnly cookie, and every page reads its data
through the `/v1` route functions with the signed-in caller. Browser libraries are vendored from
pinned npm packages into `static/vendor/` by `scripts/setup.sh`; nothing comes from a CDN.
"""

from callytics_ray.api.console.pages import STATIC_DIR
from callytics_ray.api.console.routes import install_console, router

__all__ = ["STATIC_DIR", "install_console", "router"]
