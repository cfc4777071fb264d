"""GET /v1/agents and /v1/agents/{id}: figures of stored analyses, checked against hand-computed
values; tenancy, auth and the OpenAPI document."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from callytics_ray.api import create_app
from tests.api.test_audio import IdleRunner
from tests.storage.agent_calls import store_agent_call


def when(day: int, hour: int = 12) -> datetime:
    """March 2024, UTC (the 4th is a Monday)."""
    return datetime(2024, 3, day, hour, tzinfo=timezone.utc)


@pytest.fixture()
def client(api_settings, store):
    # ann: three calls over two days of one week, one of them not analysed yet; bob: one call.
    store_agent_call(store, "a1", agent="ann", when=when(4, 9), duration=100, sentiment=0.6, talk_share=0.5,
                     interruptions=3, rate_wpm=140)
    store_agent_call(store, "a2", agent="ann", when=when(7), duration=50, sentiment=-0.2, talk_share=0.7,
                     interruptions=1, rate_wpm=160)
    store_agent_call(store, "a3", agent="ann", when=when(7, 16), analysed=False)
    store_agent_call(store, "b1", agent="bob", when=when(12), duration=80, sentiment=0.1, talk_share=0.4,
                     interruptions=0, rate_wpm=110)
    store_agent_call(store, "g1", agent="gus", when=when(5), tenant="globex")
    with TestClient(create_app(api_settings, store, IdleRunner())) as client:
        yield client


def test_the_list_has_each_agents_figures_most_calls_first(client, key_for):
    reply = client.get("/v1/agents", headers=key_for("acme", ("read",)))
    assert reply.status_code == 200, reply.text
    ann, bob = reply.json()["items"]
    assert (ann["agent_id"], ann["calls"], ann["analysed_calls"]) == ("ann", 3, 2)
    # Means over a1 and a2: (0.6 - 0.2) / 2, (0.5 + 0.7) / 2, (3 + 1) / 2, (140 + 160) / 2.
    assert ann["total_duration_s"] == pytest.approx(150.0)
    assert ann["mean_sentiment_score"] == pytest.approx(0.2)
    assert ann["mean_agent_talk_share"] == pytest.approx(0.6)
    assert ann["mean_agent_interruptions"] == pytest.approx(2.0)
    assert ann["mean_agent_speaking_rate_wpm"] == pytest.approx(150.0)
    assert ann["first_call_at"].startswith("2024-03-04T09:00") and ann["last_call_at"].startswith("2024-03-07T16:00")
    assert (bob["agent_id"], bob["calls"], bob["mean_agent_speaking_rate_wpm"]) == ("bob", 1, pytest.approx(110.0))


def test_the_list_takes_a_date_range(client, key_for):
    headers = key_for("acme", ("read",))
    later = client.get("/v1/agents", headers=headers, params={"created_after": when(6).isoformat()}).json()["items"]
    assert [(a["agent_id"], a["calls"]) for a in later] == [("ann", 2), ("bob", 1)]
    assert later[0]["mean_sentiment_score"] == pytest.approx(-0.2)
    early = client.get("/v1/agents", headers=headers, params={"created_before": when(6).isoformat()}).json()["items"]
    assert [(a["agent_id"], a["calls"]) for a in early] == [("ann", 1)]


def test_one_agent_with_its_trend_per_day_and_week(client, key_for):
    headers = key_for("acme", ("read",))
    daily = client.get("/v1/agents/ann", headers=headers).json()
    assert (daily["agent_id"], daily["calls"], daily["bucket"]) == ("ann", 3, "day")
    assert [(b["start"], b["calls"], b["analysed_calls"]) for b in daily["trend"]] == [
        ("2024-03-04", 1, 1), ("2024-03-07", 2, 1)]
    assert daily["trend"][1]["mean_agent_talk_share"] == pytest.approx(0.7)
    weekly = client.get("/v1/agents/ann", headers=headers, params={"bucket": "week"}).json()
    assert [(b["start"], b["calls"]) for b in weekly["trend"]] == [("2024-03-04", 3)]
    assert weekly["trend"][0]["mean_agent_interruptions"] == pytest.approx(2.0)
    # In a range without calls the agent is still found, with nothing to show.
    empty = client.get("/v1/agents/ann", headers=headers, params={"created_after": when(20).isoformat()}).json()
    assert (empty["calls"], empty["trend"], empty["mean_sentiment_score"]) == (0, [], None)
    assert client.get("/v1/agents/ann", headers=headers, params={"bucket": "month"}).status_code == 422


def test_another_tenants_agents_are_neither_listed_nor_found(client, key_for):
    headers = key_for("globex", ("read",))
    assert [a["agent_id"] for a in client.get("/v1/agents", headers=headers).json()["items"]] == ["gus"]
    for agent in ("ann", "nobody"):
        reply = client.get(f"/v1/agents/{agent}", headers=headers)
        assert reply.status_code == 404 and reply.json()["error"]["code"] == "not_found"
        assert "mean" not in reply.text


def test_a_key_is_needed_with_the_read_scope(client, key_for):
    for path in ("/v1/agents", "/v1/agents/ann"):
        reply = client.get(path)
        assert reply.status_code == 401 and reply.json()["error"]["code"] == "unauthorized"
        assert client.get(path, headers=key_for("acme", ("submit",))).status_code == 403


def test_the_routes_are_documented(client):
    paths = client.get("/openapi.json").json()["paths"]
    listing, one = paths["/v1/agents"]["get"], paths["/v1/agents/{agent_id}"]["get"]
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/AgentList")
    assert one["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/AgentView")
    assert {"401", "404", "429"} <= set(one["responses"]) and listing["summary"] and one["summary"]
    assert {p["name"] for p in one["parameters"]} >= {"bucket", "created_after", "created_before"}
