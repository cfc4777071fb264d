"""Gateway fixtures: a real SQLite file database per test, the real in-process stages (models loaded
once per session), and a TestClient whose event loop lives as long as the test (so the runner's
background tasks keep running between requests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from callytics_ray.api import LocalRunner, create_app  # noqa: E402
from callytics_ray.pipeline import RetryPolicy, StageBackend  # noqa: E402
from callytics_ray.settings import Settings  # noqa: E402
from callytics_ray.storage import CallStore  # noqa: E402
from callytics_ray.storage.keys import create_api_key  # noqa: E402

FAST_RETRY = RetryPolicy(attempts=2, backoff_s=0.01, max_backoff_s=0.02)


@pytest.fixture()
def api_settings(settings: Settings) -> Settings:
    """Per-test settings with a file database; no rate limit (polling would hit it) and no periodic
    reconciliation (tests run the reconciler when they mean to; start-up still runs it once)."""
    return with_api(settings, reconcile_interval_s=3600.0, rate_limit_per_minute=0)


@pytest.fixture()
def store(api_settings: Settings) -> CallStore:
    store = CallStore.from_url(api_settings.database_url)
    yield store
    store.engine.dispose()


@pytest.fixture(scope="session")
def stereo_bytes(stereo_call_path: Path) -> bytes:
    return stereo_call_path.read_bytes()


def with_api(settings: Settings, **changes) -> Settings:
    return settings.model_copy(update={"api": settings.api.model_copy(update=changes)})


@pytest.fixture()
def make_client(store: CallStore, local_stages) -> Iterator[Callable[..., TestClient]]:
    """Build an app over `store` and enter its TestClient (lifespan included).

    Call as make_client(settings, backend=, worker_id=, hook=, **create_app kwargs); every client is closed at
    the end of the test.
    """
    stack: list[TestClient] = []

    def build(settings: Settings, *, backend: StageBackend | None = None,
              worker_id: str | None = None, hook=None, **kwargs) -> TestClient:
        runner = LocalRunner(backend or local_stages, store, settings, retry=FAST_RETRY,
                             worker_id=worker_id, hook=hook)
        client = TestClient(create_app(settings, store, runner, **kwargs))
        client.__enter__()
        client.runner = runner  # the tests look at what ran
        stack.append(client)
        return client

    yield build
    for client in reversed(stack):
        client.__exit__(None, None, None)


@pytest.fixture()
def key_for(store: CallStore) -> Callable[..., dict[str, str]]:
    """Create a real API key; returns the request headers that carry it."""

    def make(tenant: str = "acme", scopes: tuple[str, ...] = ("submit", "read")) -> dict[str, str]:
        secret, _ = create_api_key(store.engine, tenant=tenant, scopes=scopes)
        return {"Authorization": f"Bearer {secret}"}

    return make


def upload(client: TestClient, headers: dict[str, str], data: bytes, *, filename: str = "call.wav",
           content_type: str = "audio/wav", params: dict | None = None, **fields):
    return client.post("/v1/calls", headers=headers, params=params or {},
                       files={"file": (filename, data, content_type)},
                       data={k: str(v) for k, v in fields.items()})


def poll(client: TestClient, headers: dict[str, str], call_id: str, *, timeout_s: float = 120.0) -> dict:
    """GET the call until it is finished; the last body."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get(f"/v1/calls/{call_id}", headers=headers).json()
        if body["status"] in ("completed", "partial", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


@contextmanager
def running_server(app) -> Iterator[str]:
    """`app` behind a real uvicorn server on 127.0.0.1 (lifespan included); yields its base URL and
    stops it (lifespan shutdown included) afterwards."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    port = instance.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
        assert thread.is_alive(), "the server thread died"
    finally:
        instance.should_exit = True
        thread.join(timeout=30)
    assert not thread.is_alive()


@pytest.fixture()
def client(api_settings: Settings, store: CallStore) -> Iterator[TestClient]:
    """The gateway without models: these routes only read and write the store."""
    runner = LocalRunner(backend=None, store=store, settings=api_settings)
    with TestClient(create_app(api_settings, store, runner)) as client:
        yield client


def error(reply) -> tuple[int, str, str]:
    body = reply.json()["error"]
    return reply.status_code, body["code"], body["message"]
