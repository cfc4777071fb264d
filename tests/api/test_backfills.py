"""/v1/backfills over HTTP (in-process thread workers, no Ray): starting, progress, listing,
cancelling, scopes, tenancy, 422s; a stored rubric or category set backfilling the stored calls;
and a job whose driver died resumed when the gateway starts."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from callytics_ray.api import LocalRunner, create_app
from callytics_ray.backfill import resolve_spec
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore
from bench.stored_calls import horizon_categories, store_copies, wizard_rubric

ADMIN = ("read", "admin")
QA = wizard_rubric("wizard").model_dump(include={"items"}, mode="json")


def build(settings: Settings, store: CallStore) -> TestClient:
    return TestClient(create_app(settings, store, LocalRunner(backend=None, store=store, settings=settings)))


@pytest.fixture()
def client(api_settings: Settings, store: CallStore) -> Iterator[TestClient]:
    """The gateway without models: backfills only read and write the store."""
    with build(api_settings, store) as client:
        yield client


def finished(client: TestClient, headers, job_id: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get(f"/v1/backfills/{job_id}", headers=headers).json()
        if body["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def error(reply) -> tuple[int, str]:
    return reply.status_code, reply.json()["error"]["code"]


def test_an_admin_starts_a_backfill_and_follows_it_to_done(client, store, key_for):
    ids = store_copies(store, 30)
    admin = key_for("acme", ADMIN)
    assert client.put("/v1/rubrics/qa", headers=admin, json=QA, params={"backfill": "false"}).status_code == 201

    started = client.post("/v1/backfills", headers=admin, json={
        "kind": "rescore", "rubric": {"name": "qa"}, "chunk_size": 8,
        "filter": {"created_before": "2026-11-03T00:00:00Z"}})

    assert started.status_code == 202, started.text
    job = started.json()
    assert started.headers["Location"] == f"/v1/backfills/{job['id']}"
    assert (job["kind"], job["total"], job["chunks"], job["rubrics"]) == ("rescore", 20, 3, [{"name": "qa", "version": 1}])
    done = finished(client, admin, job["id"])
    assert (done["status"], done["done"], done["failed"], done["progress"], done["runs"]) == ("done", 20, 0, 1.0, 1)
    assert done["executor"] == "threads"  # no Ray here: the gateway's own thread pool
    assert done["calls_per_s"] > 0
    card = client.get(f"/v1/calls/{ids[0]}/scorecard", headers=admin).json()["scorecards"][0]
    assert (card["rubric"], card["rubric_version"], card["items"][0]["status"]) == ("qa", 1, "pass")
    assert client.get(f"/v1/calls/{ids[25]}/scorecard", headers=admin).status_code == 404  # outside the dates
    listed = client.get("/v1/backfills", headers=admin, params={"status": "done"}).json()["items"]
    assert [j["id"] for j in listed] == [job["id"]]


def test_storing_a_rubric_or_category_set_backfills_the_stored_calls(client, store, key_for):
    ids = store_copies(store, 12)
    admin = key_for("acme", ADMIN)

    put = client.put("/v1/rubrics/qa", headers=admin, json=QA)
    job = finished(client, admin, put.headers["X-Backfill-Id"])
    assert (job["status"], job["done"], job["reason"]) == ("done", 12, "rubric qa version 1 stored")
    topics = horizon_categories().model_dump(include={"categories"}, mode="json")
    put = client.put("/v1/categories/topics", headers=admin, json=topics)
    assert finished(client, admin, put.headers["X-Backfill-Id"])["status"] == "done"

    matched = client.get(f"/v1/calls/{ids[7]}/categories", headers=admin).json()["categories"]
    assert [(m["category_set"], m["set_version"], m["category"]) for m in matched] == [("topics", 1, "horizon")]
    # backfill=false stores the version and leaves the stored calls alone.
    quiet = client.put("/v1/rubrics/qa", headers=admin, json=QA, params={"backfill": "false"})
    assert quiet.status_code == 201 and "X-Backfill-Id" not in quiet.headers
    assert len(client.get("/v1/backfills", headers=admin).json()["items"]) == 2


def test_scopes_and_tenants(client, store, key_for):
    store_copies(store, 3)
    reader, admin, other = key_for("acme", ("read",)), key_for("acme", ADMIN), key_for("globex", ADMIN)
    assert error(client.post("/v1/backfills", json={"kind": "rescore"})) == (401, "unauthorized")
    assert error(client.post("/v1/backfills", headers=reader, json={"kind": "rescore"})) == (403, "forbidden")
    job = store.create_backfill(resolve_spec(store, tenant="acme", kind="rescore"), tenant="acme", chunk_size=2)
    assert client.get(f"/v1/backfills/{job.id}", headers=reader).json()["total"] == 3
    assert error(client.post(f"/v1/backfills/{job.id}:cancel", headers=reader)) == (403, "forbidden")
    assert error(client.get(f"/v1/backfills/{job.id}", headers=other)) == (404, "not_found")
    assert error(client.post(f"/v1/backfills/{job.id}:cancel", headers=other)) == (404, "not_found")
    assert client.get("/v1/backfills", headers=other).json()["items"] == []

    cancelled = client.post(f"/v1/backfills/{job.id}:cancel", headers=admin)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert error(client.post(f"/v1/backfills/{job.id}:cancel", headers=admin)) == (409, "not_cancellable")


@pytest.mark.parametrize("body, where", [
    ({"kind": "rescale"}, "body.kind"),
    ({"kind": "recategorize", "rubric": {"name": "qa"}}, "applies category sets, not a rubric"),
    ({"kind": "rescore", "category_set": {"name": "topics"}}, "applies rubrics, not a category set"),
    ({"kind": "rescore", "rubric": {"name": "nope"}}, "rubric 'nope' not found"),
    ({"kind": "recategorize", "category_set": {"name": "topics", "version": 4}}, "category set 'topics' version 4"),
    ({"kind": "rescore", "rubric": {"name": "bad name"}}, "body.rubric.name"),
    ({"kind": "rescore", "chunk_size": 0}, "body.chunk_size"),
    ({"kind": "rescore", "filter": {"agent": "x"}}, "body.filter.agent"),
    ({"kind": "rescore", "filter": {"created_after": "yesterday"}}, "body.filter.created_after"),
])
def test_a_bad_request_is_a_422_with_the_reason(client, key_for, body, where):
    reply = client.post("/v1/backfills", headers=key_for("acme", ADMIN), json=body)
    assert error(reply) == (422, "validation_error") and where in reply.json()["error"]["message"], reply.text


def test_a_job_whose_driver_died_is_resumed_when_the_gateway_starts(api_settings, store, key_for):
    store_copies(store, 10)
    job = store.create_backfill(resolve_spec(store, tenant="acme", kind="rescore"), tenant="acme", chunk_size=3)
    assert store.claim_backfill(job.id, "a-gateway-that-died", lease_s=0.01)
    time.sleep(0.05)

    with build(api_settings, store) as client:
        done = finished(client, key_for("acme", ("read",)), job.id)

    assert (done["status"], done["done"], done["runs"]) == ("done", 10, 2)


def test_openapi_documents_the_routes_and_the_put_option(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert paths["/v1/backfills"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/BackfillRequest")
    assert "202" in paths["/v1/backfills"]["post"]["responses"]
    assert {"/v1/backfills/{backfill_id}", "/v1/backfills/{backfill_id}:cancel"} <= set(paths)
    progress = spec["components"]["schemas"]["BackfillRecord"]["properties"]
    assert {"total", "done", "failed", "progress", "calls_per_s", "status", "runs"} <= set(progress)
    put = paths["/v1/rubrics/{name}"]["put"]
    assert [p["schema"]["default"] for p in put["parameters"] if p["name"] == "backfill"] == [True]
    assert "X-Backfill-Id" in put["responses"]["201"]["headers"]
