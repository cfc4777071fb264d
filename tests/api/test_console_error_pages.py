"""A console page that fails answers with an HTML page (the reason, and when to retry), while the
same failure under /v1 stays the API's JSON. Over the HTTP client: no browser, no models."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from callytics_ray.api import create_app
from callytics_ray.storage.keys import create_api_key
from tests.api.conftest import with_api
from tests.api.test_audio import IdleRunner


def _client(settings, store) -> TestClient:
    return TestClient(create_app(settings, store, IdleRunner()), follow_redirects=False,
                      raise_server_exceptions=False)


def _sign_in(client: TestClient, secret: str) -> None:
    assert client.post("/console/sign-in", data={"key": secret, "next": "/console/agents"}).status_code == 303


def test_the_rate_limit_is_a_page_in_the_console_and_json_in_the_api(api_settings, store):
    secret, _ = create_api_key(store.engine, tenant="acme", scopes=("read",))
    with _client(with_api(api_settings, rate_limit_per_minute=3), store) as client:
        _sign_in(client, secret)  # the sign-in's key check takes the first of the three requests
        assert client.get("/console/agents").status_code == 200
        assert client.get("/v1/agents", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        page = client.get("/console/agents?from=2024-03-01")
        assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
        retry_after = page.headers["retry-after"]
        assert int(retry_after) >= 1
        assert 'id="error-page"' in page.text and "Too Many Requests" in page.text
        assert "rate limit of 3 requests per minute exceeded" in page.text
        assert f"Try again in <strong>{retry_after}</strong>" in page.text
        assert 'href="/console/agents?from=2024-03-01"' in page.text  # the retry link is the same page
        api = client.get("/v1/agents", headers={"Authorization": f"Bearer {secret}"})
        assert api.status_code == 429 and api.headers["content-type"] == "application/json"
        assert api.json()["error"]["code"] == "rate_limited" and int(api.headers["retry-after"]) >= 1


def test_a_server_error_is_a_page_in_the_console_and_json_in_the_api(api_settings, store, monkeypatch):
    secret, _ = create_api_key(store.engine, tenant="acme", scopes=("read",))

    def broken(*_args, **_kwargs):
        raise RuntimeError("the database is on fire")

    monkeypatch.setattr(store, "agent_summaries", broken)
    with _client(api_settings, store) as client:
        _sign_in(client, secret)
        page = client.get("/console/agents")
        assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
        assert "Internal Server Error" in page.text and "internal error (RuntimeError)" in page.text
        assert "retry-after" not in page.headers and 'id="retry-after"' not in page.text
        api = client.get("/v1/agents", headers={"Authorization": f"Bearer {secret}"})
        assert api.status_code == 500 and api.json()["error"]["code"] == "internal_error"


@pytest.mark.parametrize("path, status", [("/console/no-such-page", 404), ("/console/agents/ann?bucket=month", 422)])
def test_other_console_errors_are_pages_too(api_settings, store, path, status):
    secret, _ = create_api_key(store.engine, tenant="acme", scopes=("read",))
    with _client(api_settings, store) as client:
        _sign_in(client, secret)
        page = client.get(path)
        assert page.status_code == status and 'id="error-page"' in page.text and '"error":' not in page.text
        assert client.get("/v1/no-such-route").json()["error"]["code"] == "not_found"
