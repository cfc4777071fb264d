"""The gateway behind a real uvicorn server on 127.0.0.1: real HTTP, lifespan, chunked uploads."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from callytics_ray.api import LocalRunner, create_app
from callytics_ray.storage.keys import create_api_key
from tests.api.conftest import FAST_RETRY, running_server, with_api

pytest.importorskip("uvicorn")


@pytest.fixture()
def server(api_settings, store, local_stages) -> Iterator[tuple[str, str]]:
    """(base URL, API key) of a running server; stopped (lifespan shutdown included) afterwards."""
    settings = with_api(api_settings, max_upload_mb=1.0)
    app = create_app(settings, store, LocalRunner(local_stages, store, settings, retry=FAST_RETRY))
    secret, _ = create_api_key(store.engine, tenant="acme", scopes=("submit", "read"))
    with running_server(app) as base_url:
        yield base_url, secret


@pytest.mark.models
def test_real_server_processes_an_upload_and_cuts_off_an_oversized_stream(server, stereo_bytes):
    base_url, secret = server
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=base_url, timeout=120) as client:
        assert client.get("/readyz").json()["checks"]["reconciler"] == "running"

        reply = client.post("/v1/calls", headers=headers, params={"wait": "true"},
                            files={"file": ("call.wav", stereo_bytes, "audio/wav")})
        assert reply.status_code == 200 and reply.json()["status"] == "completed", reply.text

        def body() -> Iterator[bytes]:
            # A multipart body without Content-Length, far over the 1 MB limit.
            yield b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n'
            for _ in range(64 * 16):
                yield b"\0" * 65536
            yield b"\r\n--B--\r\n"

        oversized = client.post("/v1/calls", content=body(),
                                headers={**headers, "Content-Type": "multipart/form-data; boundary=B"})
        assert oversized.status_code == 413, oversized.text
        assert oversized.json()["error"]["code"] == "payload_too_large"
        assert client.get("/v1/calls", headers=headers).json()["total"] == 1
