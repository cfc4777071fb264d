"""Every error the gateway answers, with its JSON body: 400 401 403 404 409 413 415 422 429."""

from __future__ import annotations

import asyncio

from callytics_ray.api import LocalRunner, create_app
from callytics_ray.storage.keys import create_api_key, revoke_api_key
from tests.api.conftest import upload, with_api


def _error(reply, status: int, code: str | None = None) -> dict:
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert set(error) <= {"code", "message", "details"} and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


def test_401_without_or_with_a_bad_or_revoked_key(make_client, api_settings, store, stereo_bytes):
    client = make_client(api_settings)
    secret, record = create_api_key(store.engine, tenant="acme", scopes=("read",))

    missing = client.get("/v1/calls")
    assert "callytics keys create" in _error(missing, 401, "unauthorized")["message"]
    assert missing.headers["www-authenticate"] == "Bearer"
    _error(client.get("/v1/calls", headers={"Authorization": "Bearer cr_deadbeef_not-a-real-key"}), 401)
    _error(client.get("/v1/calls", headers={"X-API-Key": secret + "x"}), 401)
    assert client.get("/v1/calls", headers={"X-API-Key": secret}).status_code == 200
    assert revoke_api_key(store.engine, record.prefix)
    _error(client.get("/v1/calls", headers={"X-API-Key": secret}), 401, "unauthorized")
    # The body is never read before the key is checked.
    _error(upload(client, {}, stereo_bytes), 401)


def test_403_when_the_key_lacks_the_scope(make_client, key_for, api_settings, stereo_bytes):
    client = make_client(api_settings)
    reader = key_for("acme", ("read",))
    submitter = key_for("acme", ("submit",))

    assert "'submit'" in _error(upload(client, reader, stereo_bytes), 403, "forbidden")["message"]
    _error(client.get("/v1/calls", headers=submitter), 403)
    _error(client.delete("/v1/calls/some-id", headers=submitter), 403)


def test_404_for_unknown_calls_and_routes(make_client, key_for, api_settings):
    client = make_client(api_settings)
    headers = key_for("acme", ("submit", "read", "admin"))

    _error(client.get("/v1/calls/no-such-call", headers=headers), 404, "not_found")
    _error(client.get("/v1/calls/no-such-call/transcript", headers=headers), 404, "not_found")
    _error(client.post("/v1/calls/no-such-call/retry", headers=headers), 404, "not_found")
    _error(client.delete("/v1/calls/no-such-call", headers=headers), 404, "not_found")
    _error(client.get("/v1/nothing-here"), 404, "not_found")


def test_400_for_a_malformed_multipart_body(make_client, key_for, api_settings):
    client = make_client(api_settings)
    headers = key_for()

    no_boundary = client.post("/v1/calls", headers={**headers, "Content-Type": "multipart/form-data"},
                              content=b"--x\r\n")
    assert "boundary" in _error(no_boundary, 400, "malformed_multipart")["message"].lower()
    two_files = client.post("/v1/calls", headers=headers, files=[("file", ("a.wav", b"RIFF", "audio/wav")),
                                                                  ("file", ("b.wav", b"RIFF", "audio/wav"))])
    _error(two_files, 400, "malformed_multipart")


def test_409_for_calls_in_the_wrong_state(make_client, key_for, api_settings, store):
    client = make_client(api_settings)
    headers = key_for("acme", ("submit", "read", "admin"))
    # A call accepted but not run (no stored audio, so the reconciler leaves it alone).
    record, _ = store.create_call(tenant="acme", source_name="held.wav", stages=("audio", "asr"))

    assert "only failed or partial" in _error(
        client.post(f"/v1/calls/{record.id}/retry", headers=headers), 409, "not_retriable")["message"]
    _error(client.delete(f"/v1/calls/{record.id}", headers=headers), 409, "call_in_progress")
    _error(client.get(f"/v1/calls/{record.id}/transcript", headers=headers), 409, "not_ready")


def test_413_from_the_declared_length(make_client, key_for, api_settings, stereo_bytes):
    client = make_client(with_api(api_settings, max_upload_mb=0.05))
    assert len(stereo_bytes) > 0.05 * 1024 * 1024

    error = _error(upload(client, key_for(), stereo_bytes), 413, "payload_too_large")
    assert "0.05 MB" in error["message"]


def _stream_upload(app, headers: list[tuple[bytes, bytes]], total_bytes: int) -> tuple[int, bytes, int]:
    """POST a chunked multipart upload of `total_bytes` straight through the ASGI interface.

    Returns:
        (status, body, bytes the app pulled from the connection).
    """
    chunk = b"\0" * 65536
    head = (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.wav\"\r\n"
            b"Content-Type: audio/wav\r\n\r\n")
    pulled, sent = [0], []

    async def receive():
        if pulled[0] >= total_bytes:
            return {"type": "http.request", "body": b"\r\n--B--\r\n", "more_body": False}
        body = head if pulled[0] == 0 else chunk
        pulled[0] += len(body)
        return {"type": "http.request", "body": body, "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/calls", "raw_path": b"/v1/calls", "query_string": b"",
        "root_path": "", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000),
        "headers": [(b"content-type", b"multipart/form-data; boundary=B"), (b"transfer-encoding", b"chunked"),
                    *headers],
    }
    asyncio.run(app(scope, receive, send))
    status = next(m for m in sent if m["type"] == "http.response.start")["status"]
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"), pulled[0]


def test_413_while_streaming_reads_no_more_than_the_limit(api_settings, store, local_stages):
    """A chunked upload with no Content-Length is cut off once it passes the limit: the app pulls
    at most a chunk or two beyond max_upload_mb from the connection, not the whole 64 MB body."""
    settings = with_api(api_settings, max_upload_mb=1.0)
    app = create_app(settings, store, LocalRunner(local_stages, store, settings))
    secret, _ = create_api_key(store.engine, tenant="acme", scopes=("submit",))

    status, body, pulled = _stream_upload(app, [(b"authorization", f"Bearer {secret}".encode())], 64 * 1024 * 1024)

    assert status == 413 and b"payload_too_large" in body
    assert 1024 * 1024 < pulled <= 1024 * 1024 + 2 * 65536


def test_the_key_is_checked_before_any_of_the_body_is_read(api_settings, store, local_stages):
    app = create_app(api_settings, store, LocalRunner(local_stages, store, api_settings))
    reader, _ = create_api_key(store.engine, tenant="acme", scopes=("read",))

    assert _stream_upload(app, [], 64 * 1024 * 1024)[::2] == (401, 0)
    assert _stream_upload(app, [(b"x-api-key", reader.encode())], 64 * 1024 * 1024)[::2] == (403, 0)


def test_415_for_what_is_not_an_audio_upload(make_client, key_for, api_settings, stereo_bytes):
    client = make_client(api_settings)
    headers = key_for()

    _error(client.post("/v1/calls", headers=headers, json={"file": "call.wav"}), 415, "unsupported_media_type")
    assert "'.txt'" in _error(upload(client, headers, stereo_bytes, filename="call.txt", content_type="text/plain"),
                              415)["message"]
    assert "text/plain" in _error(upload(client, headers, stereo_bytes, filename="call.wav",
                                         content_type="text/plain"), 415)["message"]
    _error(upload(client, headers, stereo_bytes, filename="call", content_type=""), 415)


def test_422_for_audio_that_does_not_decode_and_invalid_options(make_client, key_for, api_settings, stereo_bytes, store):
    client = make_client(api_settings)
    headers = key_for()

    not_audio = _error(upload(client, headers, b"this is a text file, not a recording\n" * 50), 422, "not_audio")
    assert "call.wav" in not_audio["message"]
    _error(upload(client, headers, b""), 422, "empty_audio")
    # A WAV whose header promises PCM but whose body is cut off right after the header.
    _error(upload(client, headers, stereo_bytes[:44]), 422)
    bad_option = _error(upload(client, headers, stereo_bytes, agent_channel=5), 422, "validation_error")
    assert bad_option["details"][0]["loc"] == ["body", "agent_channel"]
    _error(upload(client, headers, stereo_bytes, roles="{not json"), 422, "validation_error")
    _error(upload(client, headers, stereo_bytes, min_speakers=3, max_speakers=2), 422, "validation_error")
    _error(upload(client, headers, stereo_bytes, colour="blue"), 422, "validation_error")
    missing_file = client.post("/v1/calls", headers=headers, data={"agent_id": "a"},
                               files={"notes": ("n.wav", stereo_bytes, "audio/wav")})
    assert _error(missing_file, 422, "validation_error")["details"][0]["loc"] == ["body", "file"]
    # None of the refused uploads left a call behind.
    assert store.list_calls().total == 0


def test_422_for_recordings_outside_the_audio_limits(make_client, key_for, api_settings, stereo_call_path, tmp_path):
    import numpy as np
    import soundfile

    client = make_client(api_settings.model_copy(
        update={"audio": api_settings.audio.model_copy(update={"max_duration_s": 2.0})}))
    headers = key_for()
    three_channels = tmp_path / "three.wav"
    soundfile.write(three_channels, np.zeros((8000, 3), dtype=np.float32), 16000)

    _error(upload(client, headers, stereo_call_path.read_bytes()), 422, "audio_too_long")
    _error(upload(client, headers, three_channels.read_bytes()), 422, "too_many_channels")


def test_429_with_retry_after_per_key(make_client, key_for, api_settings):
    client = make_client(with_api(api_settings, rate_limit_per_minute=3))
    first, second = key_for("acme", ("read",)), key_for("acme", ("read",))

    assert [client.get("/v1/calls", headers=first).status_code for _ in range(3)] == [200] * 3
    limited = client.get("/v1/calls", headers=first)
    _error(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 20
    assert client.get("/v1/calls", headers=second).status_code == 200


def test_auth_can_be_turned_off_for_local_trials(make_client, api_settings):
    client = make_client(with_api(api_settings, auth_required=False))

    assert client.get("/v1/calls").json()["total"] == 0


def test_health_readiness_and_openapi(make_client, api_settings):
    client = make_client(api_settings)

    assert client.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["checks"] == {"database": "ok", "reconciler": "running"}
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/v1/calls"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["required"] == ["file"] and {"file", "language", "idempotency_key"} <= set(body["properties"])
    assert {"/v1/calls/{call_id}/transcript", "/v1/calls/{call_id}/retry", "/v1/experiments"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200


def test_readiness_fails_when_the_database_is_gone(make_client, api_settings, tmp_path):
    from callytics_ray.storage import CallStore

    broken = CallStore.from_url(f"sqlite:///{tmp_path / 'gone.db'}")
    client = make_client(api_settings)
    client.app.state.store = broken
    (tmp_path / "gone.db").unlink()
    (tmp_path / "gone.db").mkdir()  # a directory where the database file was: every connect fails
    broken.engine.dispose()

    _error(client.get("/readyz"), 503, "not_ready")


def test_admin_scope_implies_the_others(make_client, key_for, api_settings):
    client = make_client(api_settings)

    assert client.get("/v1/calls", headers=key_for("acme", ("admin",))).status_code == 200
