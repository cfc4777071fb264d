"""Hardening of the gateway, on SQLite and PostgreSQL: one rate limit across gateway instances,
search and filter input that is only ever data, API keys stored hashed and compared in constant
time, security headers, and CORS only when configured."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from callytics_ray.api import create_app
from callytics_ray.api.app import MAX_BODY_BYTES
from callytics_ray.api.console.pages import PACKAGE_DIR
from callytics_ray.api.security import CONTENT_SECURITY_POLICY
from callytics_ray.storage import keys as key_store
from callytics_ray.storage.keys import create_api_key, verify_api_key
from callytics_ray.storage.tables import ApiKey
from tests.api.conftest import with_api
from tests.api.test_audio import IdleRunner
from tests.storage.test_store import analysis, store  # noqa: F401  (both dialects)


def _client(settings, store, **kwargs) -> TestClient:
    return TestClient(create_app(settings, store, IdleRunner()), follow_redirects=False, **kwargs)


# --- rate limit -----------------------------------------------------------------------------------

def test_two_gateways_over_one_database_share_each_keys_rate_limit(api_settings, store):  # noqa: F811
    """Two app instances (as two replicas or two `callytics serve` processes would be) over one
    database, hit at once from 12 threads: together they let through the key's limit, no more."""
    per_minute = 6
    settings = with_api(api_settings, rate_limit_per_minute=per_minute)
    secret, _ = create_api_key(store.engine, tenant="acme", scopes=("read",))
    other, _ = create_api_key(store.engine, tenant="acme", scopes=("read",))
    with _client(settings, store) as first, _client(settings, store) as second:
        started = time.monotonic()
        with ThreadPoolExecutor(12) as pool:
            replies = list(pool.map(
                lambda i: (first if i % 2 else second).get("/v1/rubrics", headers={"X-API-Key": secret}), range(30)))
        elapsed = time.monotonic() - started
        allowed = [r for r in replies if r.status_code == 200]
        limited = [r for r in replies if r.status_code == 429]
        # A token comes back every 10 s: the test would have to run that long to earn one more.
        assert len(allowed) == per_minute + int(elapsed // (60 / per_minute))
        assert len(allowed) + len(limited) == len(replies)
        assert all(1 <= int(r.headers["Retry-After"]) <= 10 for r in limited)
        assert {r.json()["error"]["code"] for r in limited} == {"rate_limited"}
        # Another key has its own budget, on either instance.
        assert second.get("/v1/rubrics", headers={"X-API-Key": other}).status_code == 200


def test_the_limit_refills_at_its_rate(store):  # noqa: F811
    for _ in range(3):
        assert store.take_rate_token("key:k", per_minute=3, now=1000.0) == 0.0
    assert store.take_rate_token("key:k", per_minute=3, now=1000.0) == pytest.approx(20.0)
    assert store.take_rate_token("key:k", per_minute=3, now=1019.0) == pytest.approx(1.0)
    assert store.take_rate_token("key:k", per_minute=3, now=1020.0) == 0.0
    assert store.take_rate_token("key:k", per_minute=3, now=1020.0) > 0  # refilled one, not a burst
    assert store.take_rate_token("key:k", per_minute=3, now=2000.0) == 0.0  # idle: the full burst again


# --- search and filters are data, never syntax ----------------------------------------------------

PAYLOADS = ["' OR 1=1 --", '"', "*", "NEAR(", "NEAR(card charged)", "AND", "card AND", "OR card", "NOT card",
            '"card', "card'", "text:card", "call_id:c", "utterance_id:1", "\\", "card\\", "\x00", "card\x00twice",
            "'; DROP TABLE calls; --", "%", "_", "card%", "^card", "card*", "(card", "card)", "{card}", "-card",
            "a" * 500, "카드 '", "\u202e", "1) OR (1=1"]
FILTERS = ["language", "agent_id", "customer_id"]


@pytest.fixture()
def two_tenants(store):  # noqa: F811
    for tenant, call_id, texts in (("acme", "acme-1", ("my card was charged twice",)),
                                   ("globex", "globex-1", ("secret card charged text",))):
        store.create_call(tenant=tenant, call_id=call_id, source_name=f"{call_id}.wav", agent_id=f"{tenant}-agent")
        store.save_analysis(analysis(call_id, texts=texts), tenant=tenant)
    return store


def test_search_and_filter_syntax_is_inert(api_settings, two_tenants):
    secret, _ = create_api_key(two_tenants.engine, tenant="acme", scopes=("read",))
    headers = {"Authorization": f"Bearer {secret}"}
    with _client(api_settings, two_tenants) as client:
        assert [c["id"] for c in client.get("/v1/calls", headers=headers, params={"q": "card"}).json()["items"]] \
            == ["acme-1"]
        for payload in PAYLOADS:
            for params in ({"q": payload}, {"q": "card", "agent_id": payload},
                           *({name: payload} for name in FILTERS)):
                reply = client.get("/v1/calls", headers=headers, params=params)
                assert reply.status_code in (200, 400, 422), (params, reply.status_code, reply.text[:200])
                assert "globex" not in reply.text and "secret" not in reply.text, params
                if reply.status_code == 200 and "q" in params and params.get("agent_id") is None:
                    # Only what the words of the query match: never more than acme's own call.
                    assert {c["id"] for c in reply.json()["items"]} <= {"acme-1"}, params
            page = client.get("/console/calls", headers={"Cookie": f"callytics_key={secret}"}, params={"q": payload})
            assert page.status_code in (200, 400, 422) and "globex" not in page.text, repr(payload)
        # Words around the syntax still search as words, and nothing widens the filter.
        assert client.get("/v1/calls", headers=headers, params={"q": "card' OR 1=1 --"}).json()["total"] == 0
        assert client.get("/v1/calls", headers=headers, params={"q": '"card" (twice*'}).json()["total"] == 1
        assert client.get("/v1/calls", headers=headers, params={"agent_id": "' OR 1=1 --"}).json()["total"] == 0
        assert client.get("/v1/calls", headers=headers, params={"agent_id": "%"}).json()["total"] == 0


# --- request bodies are capped while they stream ---------------------------------------------------

def _pull(app, method: str, path: str, content_type: bytes, total_bytes: int) -> tuple[int, int]:
    """Send `total_bytes` of chunked body (no Content-Length, no key) straight through ASGI.

    Returns:
        (status, bytes the app pulled from the connection).
    """
    pulled, sent = [0], []

    async def receive():
        if pulled[0] >= total_bytes:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled[0] += 65536
        return {"type": "http.request", "body": b"a" * 65536, "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000),
             "headers": [(b"content-type", content_type), (b"transfer-encoding", b"chunked")]}
    asyncio.run(app(scope, receive, send))
    return next(m for m in sent if m["type"] == "http.response.start")["status"], pulled[0]


def test_every_body_but_an_upload_is_cut_off_at_the_cap_while_it_streams(api_settings, store):  # noqa: F811
    """A caller without a key sends 64 MB to each route that takes a body: refused after at most
    MAX_BODY_BYTES (and a chunk), not buffered whole (FastAPI reads a body before the auth check)."""
    app = create_app(api_settings, store, IdleRunner())
    routes = {(m, r.path) for r in iter_route_contexts(app.routes) for m in (r.methods or ()) if m in ("POST", "PUT")}
    assert ("PUT", "/v1/rubrics/{name}") in routes and ("POST", "/console/sign-in") in routes
    for method, path in sorted(routes - {("POST", "/v1/calls")}):  # uploads: tests/api/test_errors.py
        for content_type in (b"application/json", b"application/x-www-form-urlencoded"):
            status, pulled = _pull(app, method, re.sub(r"\{[^}]+\}", "x", path), content_type, 64 << 20)
            # 303: sign-out, which reads no body at all.
            assert status in (303, 401, 413) and pulled <= MAX_BODY_BYTES + 65536, (method, path, content_type, status)
    status, pulled = _pull(app, "PUT", "/v1/rubrics/x", b"application/json", 64 << 20)
    assert status == 413 and pulled > MAX_BODY_BYTES


# --- API keys -------------------------------------------------------------------------------------

def test_api_keys_are_stored_hashed_and_compared_in_constant_time(store, monkeypatch):  # noqa: F811
    secret, record = create_api_key(store.engine, tenant="acme", scopes=("read",))
    with Session(store.engine) as session:
        row = session.exec(select(ApiKey).where(ApiKey.id == record.id)).one()
        stored = [str(v) for v in row.model_dump().values()]
    assert row.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert not [v for v in stored if secret in v or secret.split("_", 2)[2] in v]

    compared: list[tuple[str, str]] = []
    real = key_store.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(key_store.hmac, "compare_digest", spy)
    assert verify_api_key(store.engine, secret) == record
    forged = secret[:-4] + "AAAA"
    assert verify_api_key(store.engine, forged) is None
    # Both checks compared hashes, never the secrets themselves, through hmac.compare_digest.
    assert compared == [(row.key_hash, row.key_hash), (row.key_hash, hashlib.sha256(forged.encode()).hexdigest())]


# --- browser protection ---------------------------------------------------------------------------

def test_html_answers_carry_the_security_headers(api_settings, store):  # noqa: F811
    app = create_app(api_settings, store, IdleRunner())

    @app.get("/console/boom", include_in_schema=False)
    def boom():
        raise RuntimeError("boom")

    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        pages = {path: client.get(path) for path in ("/console/sign-in", "/console/no-such-page", "/console/boom",
                                                     "/docs")}
        for path, page in pages.items():
            assert page.headers["content-type"].startswith("text/html"), path
            assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
            assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
            assert page.headers["referrer-policy"] == "same-origin"
        assert [p.status_code for p in pages.values()] == [200, 404, 500, 200]
        api = client.get("/v1/calls")
        assert api.status_code == 401 and api.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in api.headers
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def test_the_console_templates_run_no_inline_script():
    """The CSP allows scripts from files only: no template may rely on an inline one."""
    for template in (PACKAGE_DIR / "templates").glob("*.html"):
        html = template.read_text()
        inline = [tag for tag in re.findall(r"<script\b[^>]*>", html)
                  if "src=" not in tag and 'type="application/json"' not in tag]
        assert not inline, (template.name, inline)
        assert not re.search(r"\son[a-z]+\s*=|\bhx-on|javascript:", html), template.name


def test_cors_is_off_unless_origins_are_configured(api_settings, store):  # noqa: F811
    secret, _ = create_api_key(store.engine, tenant="acme", scopes=("read",))
    preflight = {"Origin": "https://qa.example", "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "authorization"}
    with _client(api_settings, store) as client:
        reply = client.get("/v1/calls", headers={"Origin": "https://qa.example", "Authorization": f"Bearer {secret}"})
        assert reply.status_code == 200 and "access-control-allow-origin" not in reply.headers
        assert "access-control-allow-origin" not in client.options("/v1/calls", headers=preflight).headers

    allowed = with_api(api_settings, cors_allow_origins=["https://qa.example"])
    with _client(allowed, store) as client:
        reply = client.get("/v1/calls", headers={"Origin": "https://qa.example", "Authorization": f"Bearer {secret}"})
        assert reply.headers["access-control-allow-origin"] == "https://qa.example"
        assert "access-control-allow-credentials" not in reply.headers  # the console's cookie stays same-origin
        ok = client.options("/v1/calls", headers=preflight)
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://qa.example"
        evil = client.get("/v1/calls", headers={"Origin": "https://evil.example", "Authorization": f"Bearer {secret}"})
        assert "access-control-allow-origin" not in evil.headers
        assert client.options("/v1/calls", headers={**preflight, "Origin": "https://evil.example"}).status_code == 400
