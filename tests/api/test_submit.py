"""Submitting calls through the gateway and reading the results back (real models, real DB)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from callytics_ray.api.experiments import word_error_rate
from callytics_ray.pipeline import STAGES
from tests.api.conftest import poll, upload, with_api

pytestmark = pytest.mark.models

LEFT = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."
RIGHT = "The horizon seems extremely distant."


def test_upload_is_stored_before_the_reply_then_completes(make_client, key_for, api_settings, store, stereo_bytes):
    client = make_client(api_settings)
    headers = key_for("acme")

    reply = upload(client, headers, stereo_bytes, filename="stereo call.wav", agent_id="agent-7",
                   customer_id="cust-42", channel_layout="dual", language="en")

    assert reply.status_code == 202, reply.text
    body = reply.json()
    call_id = body["id"]
    assert reply.headers["location"] == f"/v1/calls/{call_id}"
    assert body["status"] in ("queued", "processing", "completed")
    # Durable at the time of the reply: the audio bytes and one job per stage are in the database.
    assert store.get_audio(call_id) == (stereo_bytes, "stereo call.wav")
    assert [s.stage for s in store.stage_states(call_id)] == list(STAGES)

    done = poll(client, headers, call_id)
    assert done["status"] == "completed", done
    assert done["agent_id"] == "agent-7" and done["customer_id"] == "cust-42"
    stages = {s["stage"]: (s["status"], s["attempts"]) for s in done["stages"]}
    assert stages["audio"] == stages["asr"] == ("done", 1)
    assert {status for status, _ in stages.values()} <= {"done", "skipped"}
    result = done["result"]
    assert result["audio"]["layout"] == "dual" and result["language"] == "en"
    wer, _ = word_error_rate([f"{RIGHT} {LEFT}"], [" ".join(s["text"] for s in result["segments"])])
    assert wer < 0.15, result["segments"]
    assert {s["channel"] for s in result["segments"]} == {0, 1}

    slim = client.get(f"/v1/calls/{call_id}", headers=headers, params={"include_result": "false"}).json()
    assert "result" not in slim and slim["status"] == "completed"


def test_wait_true_times_out_with_202(make_client, key_for, api_settings, stereo_bytes):
    client = make_client(api_settings)
    headers = key_for()

    reply = upload(client, headers, stereo_bytes, params={"wait": "true", "timeout_s": "0.05"})

    assert reply.status_code == 202
    assert reply.json()["status"] in ("queued", "processing")


def test_transcript_in_every_format(make_client, key_for, api_settings, stereo_bytes):
    client = make_client(api_settings)
    headers = key_for()
    waited = upload(client, headers, stereo_bytes, params={"wait": "true", "timeout_s": "120"})
    assert waited.status_code == 200, waited.text
    assert waited.json()["status"] == "completed" and waited.json()["result"]["segments"]
    call_id = waited.json()["id"]

    def get(fmt: str):
        reply = client.get(f"/v1/calls/{call_id}/transcript", headers=headers, params={"format": fmt})
        assert reply.status_code == 200, reply.text
        return reply

    as_json = get("json")
    assert as_json.headers["content-type"].startswith("application/json")
    analysis = as_json.json()
    assert analysis["call_id"] == call_id and analysis["segments"]
    texts = [s["text"].strip() for s in analysis["segments"]]

    txt = get("txt").text
    assert all(t in txt for t in texts)
    srt = get("srt")
    assert srt.headers["content-type"].startswith("application/x-subrip")
    assert srt.text.startswith("1\n00:00:0") and " --> " in srt.text
    vtt = get("vtt")
    assert vtt.headers["content-type"].startswith("text/vtt") and vtt.text.startswith("WEBVTT")
    rttm_lines = get("rttm").text.strip().splitlines()
    assert len(rttm_lines) == len(texts)
    assert all(line.startswith(f"SPEAKER {call_id} 1 ") for line in rttm_lines)

    bad = client.get(f"/v1/calls/{call_id}/transcript", headers=headers, params={"format": "docx"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"


def test_idempotency_key_replays_or_conflicts(make_client, key_for, api_settings, stereo_bytes):
    client = make_client(api_settings)
    headers = key_for()

    first = upload(client, headers, stereo_bytes, idempotency_key="upload-1", language="en")
    again = upload(client, headers, stereo_bytes, idempotency_key="upload-1", language="en")
    by_header = upload(client, {**headers, "Idempotency-Key": "upload-1"}, stereo_bytes, language="en")
    other_audio = upload(client, headers, stereo_bytes[:-3200], idempotency_key="upload-1", language="en")
    other_options = upload(client, headers, stereo_bytes, idempotency_key="upload-1", language="ko")

    assert first.status_code == 202
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert by_header.status_code == 200 and by_header.json()["id"] == first.json()["id"]
    for conflict in (other_audio, other_options):
        assert conflict.status_code == 409
        assert conflict.json()["error"]["code"] == "idempotency_conflict"
    listed = client.get("/v1/calls", headers=headers).json()
    assert listed["total"] == 1
    assert poll(client, headers, first.json()["id"])["status"] == "completed"


def test_concurrent_uploads_all_complete_within_the_concurrency_limit(make_client, key_for, api_settings, stereo_bytes):
    in_flight, peak, lock = set(), [0], threading.Lock()

    def hook(request, stage, event, _seconds):
        with lock:
            if stage == "audio" and event == "start":
                in_flight.add(request.call_id)
                peak[0] = max(peak[0], len(in_flight))
            elif stage == "asr" and event in ("done", "failed"):
                in_flight.discard(request.call_id)

    client = make_client(with_api(api_settings, max_concurrent_calls=2), hook=hook)
    headers = key_for()

    with ThreadPoolExecutor(max_workers=5) as pool:
        replies = list(pool.map(lambda i: upload(client, headers, stereo_bytes, agent_id=f"agent-{i}"), range(5)))

    assert [r.status_code for r in replies] == [202] * 5
    ids = {r.json()["id"] for r in replies}
    assert len(ids) == 5
    finals = [poll(client, headers, call_id, timeout_s=240) for call_id in ids]
    assert [f["status"] for f in finals] == ["completed"] * 5
    assert sorted(f["agent_id"] for f in finals) == [f"agent-{i}" for i in range(5)]
    assert 1 <= peak[0] <= 2


def test_the_same_idempotency_key_sent_at_once_stores_one_call(make_client, key_for, api_settings, store, stereo_bytes):
    # A client that retries a timed-out upload while the first is still arriving sends the same key
    # twice at the same moment: the unique constraint settles the race, one call is stored.
    client = make_client(api_settings)
    headers = key_for()
    start = threading.Barrier(6)

    def send(_):
        start.wait()
        return upload(client, headers, stereo_bytes, idempotency_key="retry-storm")

    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(send, range(6)))

    assert sorted(r.status_code for r in replies) == [200] * 5 + [202]
    assert len({r.json()["id"] for r in replies}) == 1
    assert client.get("/v1/calls", headers=headers).json()["total"] == 1
    assert poll(client, headers, replies[0].json()["id"])["status"] == "completed"
