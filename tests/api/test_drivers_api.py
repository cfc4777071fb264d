"""GET /v1/drivers over HTTP: the report of the caller's tenant, auth and scopes, bad ranges, and
the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from callytics_ray.api import create_app
from tests.analytics.test_drivers import MONDAY, store_reason_call, theme_calls
from tests.api.test_audio import IdleRunner


@pytest.fixture()
def client(api_settings, store):
    theme_calls(store)
    store_reason_call(store, "g0", "I forgot my password and cannot log in.", MONDAY, tenant="globex")
    with TestClient(create_app(api_settings, store, IdleRunner())) as client:
        yield client


def test_the_report_of_the_callers_tenant(client, key_for):
    params = {"created_after": MONDAY.isoformat(), "created_before": "2024-03-11T00:00:00+00:00",
              "bucket": "day"}
    reply = client.get("/v1/drivers", headers=key_for("acme", ("read",)), params=params)
    assert reply.status_code == 200, reply.text
    report = reply.json()
    # The first week: 7 billing calls (one a day) and 4 of each other theme (every other day).
    assert report["calls"] == 19 and report["bucket"] == "day" and report["labeller"] == "keyphrases"
    assert report["embedding_model"] == "bundled:all-MiniLM-L6-v2"
    assert sum(d["calls"] for d in report["drivers"]) == 19
    assert all(len(d["trend"]) == 7 and d["trend"][0]["start"] == "2024-03-04" for d in report["drivers"])
    billing = next(d for d in report["drivers"] if {"bill", "charge"} & set(" ".join(d["keyphrases"]).split()))
    assert billing["calls"] >= 6 and billing["examples"][0]["call_id"].startswith("billing-")
    ids = {e["call_id"] for d in report["drivers"] for e in d["examples"]}
    assert "g0" not in ids
    globex = client.get("/v1/drivers", headers=key_for("globex", ("read",))).json()
    assert globex["calls"] == 1 and globex["drivers"][0]["examples"][0]["call_id"] == "g0"


def test_auth_scopes_and_bad_input(client, key_for):
    assert client.get("/v1/drivers").status_code == 401
    assert client.get("/v1/drivers", headers=key_for("acme", ("submit",))).status_code == 403
    headers = key_for("acme", ("read",))
    inverted = client.get("/v1/drivers", headers=headers, params={
        "created_after": (MONDAY + timedelta(days=2)).isoformat(), "created_before": MONDAY.isoformat()})
    assert inverted.status_code == 400 and "created_after" in inverted.json()["error"]["message"]
    assert client.get("/v1/drivers", headers=headers, params={"bucket": "month"}).status_code == 422
    assert client.get("/v1/drivers", headers=headers, params={"max_calls": 0}).status_code == 422
    bounded = client.get("/v1/drivers", headers=headers, params={"max_calls": 5}).json()
    assert (bounded["calls"], bounded["calls_in_range"], bounded["truncated"]) == (5, 32, True)


def test_openapi_shows_the_route_and_its_model(client):
    schema = client.get("/openapi.json").json()
    route = schema["paths"]["/v1/drivers"]["get"]
    assert route["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/DriverReport")
    assert {p["name"] for p in route["parameters"]} >= {"created_after", "created_before", "bucket", "max_calls"}
    assert {"label", "calls", "share", "trend", "examples"} <= set(schema["components"]["schemas"]["Driver"]["properties"])
