"""GET /v1/calls/{id}/audio: the stored recording, tenant-scoped, with HTTP range requests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from callytics_ray.api import create_app
from callytics_ray.api.ranges import ByteRange, RangeNotSatisfiableError, parse_range
from callytics_ray.storage.keys import create_api_key


class IdleRunner:
    """Accepts calls and runs nothing: these tests only read stored audio."""

    async def start(self, request) -> None:
        pass

    async def wait(self, call_id: str, timeout_s: float) -> None:
        pass


@pytest.fixture()
def client(api_settings, store):
    with TestClient(create_app(api_settings, store, IdleRunner())) as client:
        yield client


@pytest.fixture()
def audio(data_dir) -> bytes:
    return (data_dir / "synthetic_stereo_call_bleed.wav").read_bytes()


def _key(store, tenant: str) -> dict[str, str]:
    secret, _ = create_api_key(store.engine, tenant=tenant, scopes=("read",))
    return {"Authorization": f"Bearer {secret}"}


def _call(store, audio: bytes, tenant: str = "acme", content_type: str | None = "audio/wav") -> str:
    record, _ = store.create_call(tenant=tenant, source_name="call.wav", audio=audio, content_type=content_type)
    return record.id


def test_whole_recording_with_accept_ranges(client, store, audio):
    call_id = _call(store, audio)
    response = client.get(f"/v1/calls/{call_id}/audio", headers=_key(store, "acme"))
    assert response.status_code == 200
    assert response.content == audio
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == len(audio)


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-1023", 0, 1023),
    ("bytes=1000-", 1000, None),
    ("bytes=-500", -500, None),
    ("bytes=100-999999999", 100, None),
])
def test_range_requests_answer_206_with_the_slice(client, store, audio, header, start, end):
    call_id = _call(store, audio)
    response = client.get(f"/v1/calls/{call_id}/audio", headers={**_key(store, "acme"), "Range": header})
    assert response.status_code == 206
    expected = audio[start:end + 1 if end is not None else None]
    assert response.content == expected
    first = start if start >= 0 else len(audio) + start
    assert response.headers["content-range"] == f"bytes {first}-{first + len(expected) - 1}/{len(audio)}"
    assert int(response.headers["content-length"]) == len(expected)


def test_a_range_past_the_end_is_416(client, store, audio):
    call_id = _call(store, audio)
    response = client.get(f"/v1/calls/{call_id}/audio", headers={**_key(store, "acme"), "Range": f"bytes={len(audio)}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(audio)}"
    assert response.json()["error"]["code"] == "range_not_satisfiable"


def test_another_tenants_call_is_not_found_and_no_key_is_401(client, store, audio):
    call_id = _call(store, audio, tenant="acme")
    other = client.get(f"/v1/calls/{call_id}/audio", headers=_key(store, "globex"))
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    assert client.get(f"/v1/calls/{call_id}/audio").status_code == 401


def test_the_console_cookie_works_for_reads_only(client, store, audio):
    call_id = _call(store, audio)
    secret, _ = create_api_key(store.engine, tenant="acme", scopes=("read", "submit", "admin"))
    client.cookies.set("callytics_key", secret)
    assert client.get(f"/v1/calls/{call_id}/audio", headers={"Range": "bytes=0-3"}).content == b"RIFF"
    # A cross-site form could send the cookie: it never authorizes a write.
    assert client.delete(f"/v1/calls/{call_id}").status_code == 401
    assert client.post(f"/v1/calls/{call_id}/retry").status_code == 401
    # Nor with the console's header from another origin (a cross-origin script).
    foreign = {"X-Callytics-Console": "1", "Origin": "http://evil.example"}
    assert client.delete(f"/v1/calls/{call_id}", headers=foreign).status_code == 401
    # The console's own write: the header, from the gateway's origin (or no Origin at all).
    own = {"X-Callytics-Console": "1", "Origin": str(client.base_url).rstrip("/")}
    store.set_status(call_id, "failed", error="decoder gave up")  # a running call cannot be deleted
    assert client.delete(f"/v1/calls/{call_id}", headers=own).status_code == 204


def test_no_browser_keeps_a_copy_of_the_recording(client, store, audio):
    # A cached copy would be played to the next user of the browser, signed in with another key.
    response = client.get(f"/v1/calls/{_call(store, audio)}/audio", headers=_key(store, "acme"))
    assert response.headers["cache-control"] == "private, no-store"


def test_octet_stream_uploads_get_a_type_from_the_file_name(client, store, audio):
    call_id = _call(store, audio, content_type="application/octet-stream")
    response = client.get(f"/v1/calls/{call_id}/audio", headers=_key(store, "acme"))
    assert response.headers["content-type"] in ("audio/wav", "audio/x-wav")


def test_the_route_is_in_openapi(client):
    operation = client.get("/openapi.json").json()["paths"]["/v1/calls/{call_id}/audio"]["get"]
    assert {"200", "206", "404", "416"} <= set(operation["responses"])
    assert any(p["name"] == "Range" and p["in"] == "header" for p in operation["parameters"])


@pytest.mark.parametrize(("header", "expected"), [
    (None, None), ("", None), ("items=0-1", None), ("bytes=0-1,5-6", None), ("bytes=abc", None),
    ("bytes=5-2", None), ("bytes=0-0", ByteRange(0, 0)), ("bytes=-1", ByteRange(9, 9)),
    ("bytes=-100", ByteRange(0, 9)), ("bytes=3-", ByteRange(3, 9)),
])
def test_parse_range(header, expected):
    assert parse_range(header, 10) == expected


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=-0", "bytes=20-30"])
def test_parse_range_unsatisfiable(header):
    with pytest.raises(RangeNotSatisfiableError):
        parse_range(header, 10)
