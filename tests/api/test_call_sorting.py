"""GET /v1/calls?sort=: documented, validated (422), applied to listing and to search, per tenant."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from callytics_ray.api import create_app
from callytics_ray.result import AudioResult, CallAnalysis, SegmentResult
from callytics_ray.storage import CallSort
from tests.api.test_audio import IdleRunner


@pytest.fixture()
def client(api_settings, store):
    with TestClient(create_app(api_settings, store, IdleRunner())) as client:
        yield client


def _save(store, call_id: str, *, tenant: str, duration_s: float, text: str) -> None:
    audio = AudioResult(duration_s=duration_s, sample_rate_hz=8000, channels=1, codec="pcm_s16le", layout="mono",
                        snr_db=30, speech_ratio=0.7, noise_reduced=False, gain_db=0.0)
    segments = [SegmentResult(start=0.0, end=2.0, text=text, speaker="SPEAKER_00", role="agent")]
    store.save_analysis(CallAnalysis(call_id=call_id, language="en", audio=audio, segments=segments), tenant=tenant)


@pytest.fixture()
def durations(store) -> dict[str, float]:
    """acme's calls and their durations (saved in an order unlike any sort); one globex call."""
    calls = {"medium": 60.0, "short": 10.0, "long": 300.0}
    for call_id, seconds in calls.items():
        _save(store, call_id, tenant="acme", duration_s=seconds, text="refund " * int(seconds // 10))
    _save(store, "theirs", tenant="globex", duration_s=20.0, text="refund")
    return calls


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


def test_sort_orders_the_list_both_ways(client, key_for, durations):
    headers = key_for("acme", ("read",))
    by_length = sorted(durations, key=durations.get)
    assert _ids(client.get("/v1/calls", params={"sort": "duration_s"}, headers=headers)) == by_length
    assert _ids(client.get("/v1/calls", params={"sort": "-duration_s"}, headers=headers)) == by_length[::-1]
    # The default is newest first: the calls in the order they were saved, reversed.
    assert _ids(client.get("/v1/calls", headers=headers)) == list(durations)[::-1]
    second = client.get("/v1/calls", params={"sort": "duration_s", "limit": 1, "offset": 1}, headers=headers)
    assert _ids(second) == [by_length[1]] and second.json()["total"] == 3


def test_search_ranks_by_relevance_unless_sorted(client, key_for, durations):
    headers = key_for("acme", ("read",))
    ranked = _ids(client.get("/v1/calls", params={"q": "refund"}, headers=headers))
    assert set(ranked) == set(durations)
    by_length = _ids(client.get("/v1/calls", params={"q": "refund", "sort": "duration_s"}, headers=headers))
    assert by_length == sorted(durations, key=durations.get)


def test_another_tenants_calls_are_never_sorted_in(client, key_for, durations):
    ids = _ids(client.get("/v1/calls", params={"sort": "duration_s"}, headers=key_for("globex", ("read",))))
    assert ids == ["theirs"]


def test_an_unknown_sort_is_422_and_no_key_is_401(client, key_for, durations):
    headers = key_for("acme", ("read",))
    for bad in ("tenant", "duration", "--duration_s", "created_at desc"):
        response = client.get("/v1/calls", params={"sort": bad}, headers=headers)
        assert response.status_code == 422, bad
        body = response.json()["error"]
        assert body["code"] == "validation_error" and "sort" in body["message"]
    assert client.get("/v1/calls", params={"sort": "duration_s"}).status_code == 401


def test_openapi_documents_every_sort(client):
    spec = client.get("/openapi.json").json()
    [param] = [p for p in spec["paths"]["/v1/calls"]["get"]["parameters"] if p["name"] == "sort"]
    assert param["in"] == "query" and "-created_at" in param["description"]
    schema = param["schema"]
    ref = next(s["$ref"] for s in schema.get("anyOf", [schema]) if "$ref" in s)
    enum = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["enum"]
    assert set(enum) == {s.value for s in CallSort}
    assert {"created_at", "-created_at", "duration_s", "-duration_s", "agent_talk_share", "sentiment_score",
            "agent_id", "language", "status"} <= set(enum)
