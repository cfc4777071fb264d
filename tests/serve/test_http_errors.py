"""Auth and every error code of the API once, through the real Serve HTTP proxy (the API's own
tests cover the logic in-process; this proves the proxy and ingress pass them through intact)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.serve.conftest import MAX_UPLOAD_MB, RATE_LIMIT_PER_MINUTE, DeployedApp, upload

pytestmark = [pytest.mark.serve, pytest.mark.models]


def _error(response) -> str:
    return response.json()["error"]["code"]


def test_auth_and_error_codes_through_the_proxy(deployed: DeployedApp, stereo_call_path: Path, tmp_path: Path):
    submitter = deployed.api_key("submit", "read")
    reader = deployed.api_key("read")
    wav = stereo_call_path.read_bytes()
    with deployed.client(None) as anonymous:
        assert anonymous.get("/healthz").status_code == 200
        response = anonymous.get("/v1/calls")
        assert (response.status_code, _error(response)) == (401, "unauthorized")
        response = anonymous.get("/v1/calls", headers={"Authorization": "Bearer cr_0000_not-a-key"})
        assert (response.status_code, _error(response)) == (401, "unauthorized")
        # The other accepted header form works.
        assert anonymous.get("/v1/calls", headers={"X-API-Key": reader}).status_code == 200

    with deployed.client(reader) as client:
        response = upload(client, stereo_call_path, wait=False)
        assert (response.status_code, _error(response)) == (403, "forbidden")
        response = client.get("/v1/calls/no-such-call")
        assert (response.status_code, _error(response)) == (404, "not_found")

    with deployed.client(submitter) as client:
        notes = tmp_path / "notes.txt"
        notes.write_text("not a recording")
        response = upload(client, notes, wait=False)
        assert (response.status_code, _error(response)) == (415, "unsupported_media_type")

        noise = tmp_path / "noise.wav"
        noise.write_bytes(os.urandom(64_000))
        response = upload(client, noise, wait=False)
        assert response.status_code == 422 and _error(response) in {"not_audio", "corrupt_audio"}, response.text

        large = tmp_path / "large.wav"
        large.write_bytes(wav * (int(MAX_UPLOAD_MB * 1024 * 1024 / len(wav)) + 2))
        response = upload(client, large, wait=False)
        assert (response.status_code, _error(response)) == (413, "payload_too_large")

        response = client.post("/v1/calls", content=b"no parts", headers={"Content-Type": "multipart/form-data"})
        assert (response.status_code, _error(response)) == (400, "malformed_multipart")

        first = upload(client, stereo_call_path, wait=False, idempotency_key="same-key")
        assert first.status_code == 202, first.text
        replay = upload(client, stereo_call_path, wait=False, idempotency_key="same-key")
        assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"]
        other = tmp_path / "other.wav"
        other.write_bytes(wav[:-3200])  # different content, same key
        response = upload(client, other, wait=False, idempotency_key="same-key")
        assert (response.status_code, _error(response)) == (409, "idempotency_conflict")

    with deployed.client(deployed.api_key("read"), honor_rate_limit=False) as client:
        # A token bucket: a burst of the limit passes, then 429; tokens refill at the limit per
        # minute, so a slow machine that needs seconds for the burst earns a few more.
        started, codes = time.monotonic(), []
        while len(codes) < 2 * RATE_LIMIT_PER_MINUTE and (not codes or codes[-1] != 429):
            codes.append(client.get("/v1/calls", params={"limit": 1}).status_code)
        refilled = int((time.monotonic() - started) * RATE_LIMIT_PER_MINUTE / 60) + 1
    assert codes[-1] == 429
    assert RATE_LIMIT_PER_MINUTE <= codes.count(200) <= RATE_LIMIT_PER_MINUTE + refilled
