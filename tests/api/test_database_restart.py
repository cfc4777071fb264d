"""The PostgreSQL server stops and comes back while a call runs: the call is not lost and ends
completed (the run that hit the outage leaves it to the reconciler), and requests during the outage
get 503 with Retry-After, never a 500."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from callytics_ray.api import LocalRunner, create_app
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import create_api_key
from tests.api.conftest import FAST_RETRY, upload, with_api
from tests.postgres_server import OwnPostgres

pytestmark = [pytest.mark.models, pytest.mark.postgres]


@pytest.fixture()
def own_postgres() -> OwnPostgres:
    server = OwnPostgres.in_tmp()
    yield server
    server.remove()


def test_a_database_restart_mid_call_loses_nothing(own_postgres, settings: Settings, local_stages, stereo_bytes):
    url = own_postgres.start()
    api_settings = with_api(settings.model_copy(update={"database_url": url}), rate_limit_per_minute=0,
                            reconcile_interval_s=1.0, lease_s=3.0)
    store = CallStore.from_url(url)
    secret, _ = create_api_key(store.engine, tenant="acme", scopes=("submit", "read"))
    headers = {"Authorization": f"Bearer {secret}"}
    runner = LocalRunner(local_stages, store, api_settings, retry=FAST_RETRY)
    statuses: list[int] = []
    with TestClient(create_app(api_settings, store, runner)) as client:
        reply = upload(client, headers, stereo_bytes, language="en")
        assert reply.status_code == 202, reply.text
        call_id = reply.json()["id"]
        deadline = time.monotonic() + 120
        while not {"asr", "diarization"} & {s["stage"] for s in client.get(f"/v1/calls/{call_id}", headers=headers)
                                               .json()["stages"] if s["status"] == "running"}:
            assert time.monotonic() < deadline
            time.sleep(0.05)

        # The outage: the running call's next write, its lease renewal and the reads below all
        # meet a database that is gone. It lasts past the lease and until a read has seen it
        # (on a loaded machine a request can take seconds to reach the database).
        own_postgres.stop()
        outage_started, seen = time.monotonic(), False
        while not seen or time.monotonic() < outage_started + 2 * api_settings.api.lease_s:
            during = client.get(f"/v1/calls/{call_id}", headers=headers)
            statuses.append(during.status_code)
            if during.status_code == 503:
                seen = True
                assert during.headers["Retry-After"] == "5"
                assert during.json()["error"]["code"] == "database_unavailable"
            assert time.monotonic() < outage_started + 120, statuses
            time.sleep(0.2)
        own_postgres.start()

        deadline = time.monotonic() + 240
        while True:
            reply = client.get(f"/v1/calls/{call_id}", headers=headers)
            statuses.append(reply.status_code)
            body = reply.json() if reply.status_code == 200 else {}
            if body.get("status") in ("completed", "partial", "failed"):
                break
            assert time.monotonic() < deadline, body
            time.sleep(0.5)
    store.engine.dispose()

    assert 503 in statuses  # the outage was seen
    assert set(statuses) <= {200, 503}, statuses
    assert body["status"] == "completed", body
    assert body["result"]["segments"], body
