"""Alert subscriptions over HTTP (admin, 422 with the reason, write-only secrets, tenants), and a
finished call whose category match reaches a real receiver on 127.0.0.1 through the app's own
delivery loop (a 503, then delivered), with the delivery log, redelivery and no alert on re-scoring;
the same from a real upload through the real pipeline in the slow set."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from callytics_ray.alerts import DELIVERY_HEADER, SIGNATURE_HEADER
from callytics_ray.api import LocalRunner, create_app
from callytics_ray.pipeline.assessment import assess_finished_call
from callytics_ray.settings import Settings
from tests.alerts.receiver import make_receiver, verify_like_the_readme  # noqa: F401  (the fixture)
from tests.api.conftest import error, upload
from tests.storage.test_store import analysis

ADMIN = ("submit", "read", "admin")
SECRET = "whsec-api-test-000001"
ALERT = {"description": "complaints to the CRM", "categories": ["complaint"],
         "url": "http://127.0.0.1:9/hook", "secret": SECRET}


def test_subscriptions_are_created_replaced_listed_and_deleted_without_showing_the_secret(client, key_for):
    admin = key_for("acme", ADMIN)
    created = client.put("/v1/alerts/crm", headers=admin, json=ALERT)
    assert created.status_code == 201 and created.headers["Location"] == "/v1/alerts/crm", created.text
    assert {k: created.json()[k] for k in ("name", "categories", "url", "active")} == {
        "name": "crm", "categories": ["complaint"], "url": "http://127.0.0.1:9/hook", "active": True}
    replaced = client.put("/v1/alerts/crm", headers=admin, json={**ALERT, "secret": None, "categories": ["*"]})
    assert replaced.status_code == 200 and replaced.json()["categories"] == ["*"]
    listed = client.get("/v1/alerts", headers=admin)
    for reply in (created, replaced, client.get("/v1/alerts/crm", headers=admin), listed):
        assert SECRET not in reply.text and "secret" not in reply.text
    assert [a["name"] for a in client.get("/v1/alerts", headers=admin).json()["items"]] == ["crm"]
    assert client.get("/v1/alerts/crm/deliveries", headers=admin).json()["items"] == []
    assert client.delete("/v1/alerts/crm", headers=admin).status_code == 204
    assert error(client.get("/v1/alerts/crm", headers=admin))[:2] == (404, "not_found")
    assert error(client.delete("/v1/alerts/crm", headers=admin))[:2] == (404, "not_found")


INVALID = [
    ({**ALERT, "url": "ftp://127.0.0.1/hook"}, "body.url: URL scheme should be 'http' or 'https'"),
    ({**ALERT, "url": "not a url"}, "body.url"),
    ({**ALERT, "secret": None}, "body.secret: a new alert needs a secret"),
    ({**ALERT, "secret": "short"}, "body.secret: Value error, a secret is 16 to 256 characters"),
    ({**ALERT, "categories": []}, "body.categories"),
    ({**ALERT, "categories": ["*", "complaint"]}, "stands alone"),
    ({**ALERT, "categories": ["no spaces"]}, "not category names: 'no spaces'"),
    ({**ALERT, "name": "other"}, "the body names 'other', the path 'crm'"),
    ({**ALERT, "retries": 3}, "body.retries"),
]


def test_an_invalid_subscription_is_422_with_the_reason(client, key_for):
    admin = key_for("acme", ADMIN)
    for body, where in INVALID:
        status, code, message = error(client.put("/v1/alerts/crm", headers=admin, json=body))
        assert (status, code) == (422, "validation_error") and where in message, (where, message)
    assert client.get("/v1/alerts", headers=admin).json()["items"] == []


def test_alerts_need_admin_and_are_per_tenant(client, key_for):
    acme, globex = key_for("acme", ADMIN), key_for("globex", ADMIN)
    reader = key_for("acme", ("submit", "read"))
    assert client.put("/v1/alerts/crm", headers=acme, json=ALERT).status_code == 201
    for method, path in (("GET", "/v1/alerts"), ("PUT", "/v1/alerts/crm"), ("GET", "/v1/alerts/crm"),
                         ("DELETE", "/v1/alerts/crm"), ("GET", "/v1/alerts/crm/deliveries"),
                         ("POST", "/v1/alerts/deliveries/x:redeliver")):
        assert error(client.request(method, path, headers=reader, json=ALERT))[0] == 403, path
        assert error(client.request(method, path, json=ALERT))[0] == 401, path
    assert client.get("/v1/alerts", headers=globex).json()["items"] == []
    for path in ("/v1/alerts/crm", "/v1/alerts/crm/deliveries"):
        assert error(client.get(path, headers=globex))[:2] == (404, "not_found"), path
    assert error(client.post("/v1/alerts/deliveries/x:redeliver", headers=acme))[:2] == (404, "not_found")
    assert client.put("/v1/alerts/crm", headers=globex, json=ALERT).status_code == 201  # its own, same name


def test_the_openapi_document_describes_the_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/alerts", "/v1/alerts/{name}", "/v1/alerts/{name}/deliveries",
            "/v1/alerts/deliveries/{delivery_id}:redeliver", "/v1/calls/{call_id}/alerts"} <= set(paths)
    assert "422" in paths["/v1/alerts/{name}"]["put"]["responses"]
    assert paths["/v1/alerts/{name}/deliveries"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"] == {"$ref": "#/components/schemas/DeliveryList"}


# --- deliveries through the app's own loop -----------------------------------------------------------

def _wait(check, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while not (found := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _fast(settings: Settings) -> Settings:
    return settings.model_copy(update={"alerts": settings.alerts.model_copy(
        update={"poll_interval_s": 0.05, "backoff_s": 0.1})})


def test_a_finished_call_alerts_through_the_app_loop_with_its_log_and_redelivery(
        api_settings, store, key_for, make_receiver):
    receiver, other = make_receiver(503, 200), make_receiver(200)
    runner = LocalRunner(backend=None, store=store, settings=api_settings)
    with TestClient(create_app(_fast(api_settings), store, runner)) as client:
        acme, globex = key_for("acme", ADMIN), key_for("globex", ADMIN)
        assert client.put("/v1/categories/topics", headers=acme, json={"categories": [
            {"name": "complaint", "rule": {"kind": "phrase", "phrases": ["charged twice"]}},
            {"name": "greeting", "rule": {"kind": "phrase", "phrases": ["hello"]}}]}).status_code == 201
        assert client.put("/v1/alerts/crm", headers=acme, json={**ALERT, "url": receiver.url}).status_code == 201
        assert client.put("/v1/alerts/all", headers=globex,
                          json={**ALERT, "categories": ["*"], "url": other.url}).status_code == 201
        # What the orchestrator does when a call finishes: assess and enqueue, then store it finished.
        call = analysis("c-1")
        store.create_call(tenant="acme", call_id="c-1", agent_id="agent-7")
        assess_finished_call(store, call, tenant="acme")
        store.save_analysis(call, tenant="acme")

        first, second = receiver.wait_for(2)
        assert verify_like_the_readme(SECRET, second.body, second.headers[SIGNATURE_HEADER])
        body = json.loads(second.body)
        assert (body["call"]["id"], body["call"]["agent_id"], body["category"]["name"]) == ("c-1", "agent-7",
                                                                                           "complaint")
        assert body["evidence"][0]["text"] == "charged twice" and body["evidence"][0]["role"] == "customer"
        [delivery] = _wait(lambda: [d for d in client.get("/v1/alerts/crm/deliveries", headers=acme).json()["items"]
                                    if d["status"] == "delivered"])
        assert (delivery["id"], delivery["call_id"], delivery["attempts"]) == (
            second.headers[DELIVERY_HEADER], "c-1", 2)
        assert [a["status_code"] for a in delivery["attempt_log"]] == [503, 200]
        assert client.get("/v1/alerts/crm/deliveries", headers=acme, params={"status": "failed"}).json()["items"] == []
        reader = key_for("acme", ("read",))
        assert [(a["alert"], a["category"], a["status"]) for a in
                client.get("/v1/calls/c-1/alerts", headers=reader).json()["items"]] == [
            ("crm", "complaint", "delivered")]
        assert error(client.get("/v1/calls/c-1/alerts", headers=globex))[:2] == (404, "not_found")

        # Re-scoring does not alert, not even a subscription the call would match now.
        client.put("/v1/alerts/greetings", headers=acme, json={**ALERT, "categories": ["greeting"],
                                                               "url": receiver.url})
        assert client.post("/v1/calls/c-1/scorecard:rescore", headers=acme).status_code == 200
        assert client.get("/v1/alerts/greetings/deliveries", headers=acme).json()["items"] == []

        redelivered = client.post(f"/v1/alerts/deliveries/{delivery['id']}:redeliver", headers=acme)
        assert redelivered.status_code == 202 and redelivered.json()["id"] == delivery["id"], redelivered.text
        third = receiver.wait_for(3)[2]
        assert third.headers[DELIVERY_HEADER] == delivery["id"] and json.loads(third.body) == body
        time.sleep(0.2)
        assert len(receiver.received) == 3 and other.received == []  # globex's "*" saw nothing of acme's


@pytest.mark.models
@pytest.mark.slow
def test_an_uploaded_call_alerts_the_webhook(make_client, key_for, api_settings, stereo_bytes, make_receiver):
    """The whole path: upload, the real pipeline, scoring, the app's delivery loop (slow: a real run)."""
    client = make_client(_fast(api_settings))
    acme = key_for("acme", ADMIN)
    receiver = make_receiver(200)
    assert client.put("/v1/categories/story", headers=acme, json={"categories": [
        {"name": "complaint", "rule": {"kind": "phrase", "speaker": "agent", "phrases": ["complaint"]}}]}
    ).status_code == 201
    assert client.put("/v1/alerts/crm", headers=acme, json={**ALERT, "url": receiver.url}).status_code == 201
    done = upload(client, acme, stereo_bytes, agent_id="agent-7", params={"wait": "true"})
    assert done.status_code == 200 and done.json()["status"] == "completed", done.text
    [got] = receiver.wait_for(1)
    assert verify_like_the_readme(SECRET, got.body, got.headers[SIGNATURE_HEADER])
    body = json.loads(got.body)
    assert (body["call"]["id"], body["call"]["agent_id"], body["category"]["name"]) == (
        done.json()["id"], "agent-7", "complaint")
    assert body["evidence"][0]["role"] == "agent" and body["evidence"][0]["text"].lower().startswith("complaint")
