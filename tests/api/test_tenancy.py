"""Tenants see only their own calls; listing filters, pagination, search and delete."""

from __future__ import annotations

import pytest

from callytics_ray.errors import NotFoundError
from tests.api.conftest import upload

pytestmark = pytest.mark.models


def test_tenants_are_isolated_and_listing_filters_and_searches(make_client, key_for, api_settings, store, stereo_bytes):
    client = make_client(api_settings)
    acme = key_for("acme", ("submit", "read", "admin"))
    other = key_for("globex", ("submit", "read", "admin"))
    done = upload(client, acme, stereo_bytes, agent_id="agent-1", language="en", params={"wait": "true"})
    assert done.status_code == 200 and done.json()["status"] == "completed", done.text
    call_id = done.json()["id"]
    # Two more acme calls that never ran (no audio: the reconciler leaves them queued).
    for agent in ("agent-2", "agent-3"):
        store.create_call(tenant="acme", source_name=f"{agent}.wav", agent_id=agent, stages=("audio", "asr"))

    # The other tenant cannot see, export, retry or delete it: exactly like a missing call.
    for method, path in (("get", f"/v1/calls/{call_id}"), ("get", f"/v1/calls/{call_id}/transcript"),
                         ("post", f"/v1/calls/{call_id}/retry"), ("delete", f"/v1/calls/{call_id}")):
        reply = client.request(method.upper(), path, headers=other)
        assert reply.status_code == 404 and reply.json()["error"]["code"] == "not_found", (method, path)
    assert client.get("/v1/calls", headers=other).json()["total"] == 0
    assert client.get("/v1/calls", headers=other, params={"q": "wizard"}).json()["items"] == []

    listed = client.get("/v1/calls", headers=acme).json()
    assert listed["total"] == 3 and {c["agent_id"] for c in listed["items"]} == {"agent-1", "agent-2", "agent-3"}
    page = client.get("/v1/calls", headers=acme, params={"limit": 2, "offset": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 1
    assert [c["id"] for c in client.get("/v1/calls", headers=acme, params={"status": "completed"}).json()["items"]] == [call_id]
    assert client.get("/v1/calls", headers=acme, params={"language": "ko"}).json()["total"] == 0
    assert client.get("/v1/calls", headers=acme, params={"min_duration_s": 4, "max_duration_s": 6}).json()["total"] == 1

    found = client.get("/v1/calls", headers=acme, params={"q": "wizard"}).json()
    assert found["query"] == "wizard" and [c["id"] for c in found["items"]] == [call_id]
    assert found["hits"] and all("wizard" in h["text"].lower() for h in found["hits"])
    assert client.get("/v1/calls", headers=acme, params={"q": "wizard", "agent_id": "agent-2"}).json()["total"] == 0
    assert client.get("/v1/calls", headers=acme, params={"q": "submarine"}).json()["total"] == 0

    deleted = client.delete(f"/v1/calls/{call_id}", headers=acme)
    assert deleted.status_code == 204 and deleted.content == b""
    assert client.get(f"/v1/calls/{call_id}", headers=acme).status_code == 404
    with pytest.raises(NotFoundError):
        store.get_audio(call_id)
    assert client.get("/v1/calls", headers=acme, params={"q": "wizard"}).json()["total"] == 0
    assert client.get("/v1/calls", headers=acme).json()["total"] == 2
