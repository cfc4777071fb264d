"""GET /v1/calls/{id}/audio: the redacted copy by default (here mostly a call without PII, whose copy
is the upload), the original for admins, tenant-scoped, with HTTP range requests. The copy itself
is checked sample by sample on a real pipeline run in tests/calls/test_redacted_audio.py."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from callytics_ray.api import create_app
from callytics_ray.api.ranges import ByteRange, RangeNotSatisfiableError, parse_range
from callytics_ray.pipeline.redacted_audio import identical, unavailable
from callytics_ray.storage import CallStatus
from callytics_ray.storage.keys import create_api_key
from callytics_ray.storage.tables import Call


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


def _key(store, tenant: str, scopes: tuple[str, ...] = ("read",)) -> dict[str, str]:
    secret, _ = create_api_key(store.engine, tenant=tenant, scopes=scopes)
    return {"Authorization": f"Bearer {secret}"}


def _call(store, audio: bytes, tenant: str = "acme", content_type: str | None = "audio/wav", *,
          redaction=identical()) -> str:
    """A finished call whose redacted copy is `redaction` (by default: no PII, the upload serves)."""
    record, _ = store.create_call(tenant=tenant, source_name="call.wav", audio=audio, content_type=content_type)
    if redaction is not None:
        store.save_audio_redaction(record.id, redaction)
        store.set_status(record.id, CallStatus.COMPLETED)
    return record.id


def test_whole_recording_with_accept_ranges(client, store, audio):
    call_id = _call(store, audio)
    response = client.get(f"/v1/calls/{call_id}/audio", headers=_key(store, "acme"))
    assert response.status_code == 200
    assert response.content == audio
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == len(audio)
    # No PII was found: the redacted copy is the upload, stored once.
    assert response.headers["x-callytics-audio"] == "redacted"


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
    assert {"200", "206", "403", "404", "409", "410", "416"} <= set(operation["responses"])
    assert "X-Callytics-Audio" in operation["responses"]["200"]["headers"]
    assert any(p["name"] == "Range" and p["in"] == "header" for p in operation["parameters"])
    assert any(p["name"] == "original" and p["in"] == "query" for p in operation["parameters"])


def test_the_original_needs_the_admin_scope(client, store, audio):
    call_id = _call(store, audio)
    refused = client.get(f"/v1/calls/{call_id}/audio", params={"original": "true"}, headers=_key(store, "acme"))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden" and "'admin' scope" in refused.json()["error"]["message"]
    admin = _key(store, "acme", ("read", "admin"))
    response = client.get(f"/v1/calls/{call_id}/audio", params={"original": "true"}, headers=admin)
    assert response.status_code == 200 and response.content == audio
    assert response.headers["x-callytics-audio"] == "original"
    ranged = client.get(f"/v1/calls/{call_id}/audio", params={"original": "true"}, headers={**admin, "Range": "bytes=4-7"})
    assert ranged.status_code == 206 and ranged.content == audio[4:8]
    # Another tenant's admin sees no such call.
    other = client.get(f"/v1/calls/{call_id}/audio", params={"original": "true"}, headers=_key(store, "globex", ("admin",)))
    assert other.status_code == 404


def test_no_redacted_copy_yet_or_none_possible_is_409_with_the_reason(client, store, audio):
    queued = _call(store, audio, redaction=None)
    response = client.get(f"/v1/calls/{queued}/audio", headers=_key(store, "acme"))
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_ready"
    # An admin still hears a call in progress, in the original.
    admin = _key(store, "acme", ("read", "admin"))
    assert client.get(f"/v1/calls/{queued}/audio", params={"original": "true"}, headers=admin).content == audio

    failed = _call(store, audio, redaction=unavailable("PII redaction failed, so where the recording holds PII is "
                                                        "unknown (redaction: boom)"))
    store.set_status(failed, CallStatus.PARTIAL, error="redaction: boom")
    response = client.get(f"/v1/calls/{failed}/audio", headers=_key(store, "acme"))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "redacted_audio_unavailable" and "PII redaction failed" in error["message"]

    never = _call(store, audio, redaction=None)
    store.set_status(never, CallStatus.FAILED, error="asr: the recognizer crashed")
    error = client.get(f"/v1/calls/{never}/audio", headers=_key(store, "acme")).json()["error"]
    assert error["code"] == "redacted_audio_unavailable" and "asr: the recognizer crashed" in error["message"]


def test_after_retention_the_original_is_410_and_the_copy_still_plays(client, store, audio):
    call_id = _call(store, audio)  # no PII: its copy is the upload, which must outlive the original
    assert store.delete_expired_originals(created_before=datetime.now(timezone.utc) + timedelta(days=1)) == [call_id]
    admin = _key(store, "acme", ("read", "admin"))
    gone = client.get(f"/v1/calls/{call_id}/audio", params={"original": "true"}, headers=admin)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "original_deleted"
    assert "retention" in gone.json()["error"]["message"]
    redacted = client.get(f"/v1/calls/{call_id}/audio", headers=_key(store, "acme"))
    assert redacted.status_code == 200 and redacted.content == audio
    view = client.get(f"/v1/calls/{call_id}", headers=_key(store, "acme")).json()
    assert view["recording"]["original"] == "deleted" and view["recording"]["redacted"]["state"] == "identical"
    # A retry needs the original: it says why it cannot run.
    store.set_status(call_id, CallStatus.PARTIAL)
    retry = client.post(f"/v1/calls/{call_id}/retry", headers=_key(store, "acme", ("submit",)))
    assert retry.status_code == 409 and "deleted by retention" in retry.json()["error"]["message"]


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


def test_the_gateways_reconciler_loop_runs_the_retention_sweep(api_settings, store, audio):
    old, recent = _call(store, audio), _call(store, audio)
    with store.engine.begin() as conn:
        conn.execute(update(Call).where(Call.id == old).values(created_at=datetime.now(timezone.utc) - timedelta(days=9)))
    settings = api_settings.model_copy(update={"storage": api_settings.storage.model_copy(
        update={"original_audio_retention_days": 7})})
    with TestClient(create_app(settings, store, IdleRunner())):  # start-up runs one round at once
        deadline = time.monotonic() + 30
        while store.recording_info(old).original != "deleted" and time.monotonic() < deadline:
            time.sleep(0.1)
    assert store.recording_info(old).original == "deleted"
    assert store.recording_info(recent).original == "stored"
