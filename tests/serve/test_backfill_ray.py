"""Backfills on the local Ray cluster: a job over 240 stored calls computed by Ray actors, its
progress going up to done; and (slow) the Serve app starting one when a rubric is stored."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from callytics_ray.backfill import BackfillRunner, resolve_spec
from callytics_ray.storage import CallStore
from deployments.backfill import RayChunkExecutor
from tests.serve.conftest import DeployedApp
from bench.stored_calls import store_copies, wizard_rubric

CALLS = 240


def follow(read, *, timeout_s: float) -> list:
    """Poll `read()` (a job) until it is finished; every distinct state seen, in order."""
    seen = [read()]
    deadline = time.monotonic() + timeout_s
    while seen[-1].status in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = read()
        if (job.status, job.processed) != (seen[-1].status, seen[-1].processed):
            seen.append(job)
    return seen


class ProgressAfterEachChunk:
    """The runner's store, recording the job's progress as a reader would see it after each chunk is stored."""

    def __init__(self, store: CallStore, backfill_id: str) -> None:
        self._store = store
        self._backfill_id = backfill_id
        self.progress: list[tuple[int, str]] = []

    def store_backfill_chunk(self, *args, **kwargs) -> bool:
        stored = self._store.store_backfill_chunk(*args, **kwargs)
        job = self._store.get_backfill(self._backfill_id)
        self.progress.append((job.processed, job.status))
        return stored

    def __getattr__(self, name: str):
        return getattr(self._store, name)


def test_a_backfill_over_hundreds_of_calls_runs_on_ray_actors_with_its_progress(ray_driver, tmp_path):
    store = CallStore.from_url(f"sqlite:///{tmp_path / 'calls.db'}")
    ids = store_copies(store, CALLS)
    store.put_rubric(wizard_rubric("wizard"), tenant="acme")
    store.put_rubric(wizard_rubric("dragon"), tenant="acme")
    job = store.create_backfill(resolve_spec(store, tenant="acme", kind="rescore"), tenant="acme", chunk_size=20)
    stored = ProgressAfterEachChunk(store, job.id)
    runner = BackfillRunner(stored, RayChunkExecutor(store.engine.url.render_as_string(hide_password=False),
                                                     workers=2, num_cpus=0.5), lease_s=30)

    assert runner.submit(job.id)
    seen = follow(lambda: store.get_backfill(job.id), timeout_s=120)
    assert runner.wait(timeout_s=10)

    last = seen[-1]
    assert (last.status, last.total, last.done, last.failed, last.chunks, last.runs) == ("done", CALLS, CALLS, 0, 12, 1)
    assert last.executor == "ray" and last.calls_per_s > 0
    # A reader sees the job go up a chunk at a time: what the database held after each chunk was
    # stored (polling alone may see 0 then 240: warm actors rescore 20 calls in milliseconds).
    assert stored.progress == [(20 * n, "running") for n in range(1, 13)], stored.progress
    processed = [j.processed for j in seen]
    assert processed == sorted(processed) and all(p % 20 == 0 for p in processed), processed
    versions = {(c.rubric, c.rubric_version, c.items[0].status)
                for call_id in ids for c in store.get_assessment(call_id).scorecards}
    assert versions == {("qa", 2, "fail")}


@pytest.mark.slow
def test_storing_a_rubric_on_the_serve_app_backfills_the_stored_calls_on_the_cluster(deployed: DeployedApp):
    store = CallStore.from_url(deployed.database_url)
    store_copies(store, 200, tenant="backfills", prefix="bf")
    client = deployed.client(deployed.api_key("read", "admin", tenant="backfills"))
    body = {"items": [{"id": "mentions", "description": "the agent says wizard", "check": {"kind": "rule", "rule": {
        "kind": "phrase", "speaker": "agent", "phrases": ["wizard"]}}}]}

    stored = client.put("/v1/rubrics/qa", json=body)
    assert stored.status_code == 201, stored.text
    job_id = stored.headers["X-Backfill-Id"]
    seen = follow(lambda: _job(client, job_id), timeout_s=240)

    assert (seen[-1].status, seen[-1].done, seen[-1].total, seen[-1].executor) == ("done", 200, 200, "ray")
    card = client.get("/v1/calls/bf-00123/scorecard").json()["scorecards"][0]
    assert (card["rubric"], card["rubric_version"], card["items"][0]["status"]) == ("qa", 1, "pass")


def _job(client, job_id: str) -> SimpleNamespace:
    reply = client.get(f"/v1/backfills/{job_id}")
    assert reply.status_code == 200, reply.text
    return SimpleNamespace(**reply.json())


@pytest.mark.slow
def test_a_reanalysis_on_the_serve_app_runs_through_the_variants_recognizer_deployment(deployed: DeployedApp,
                                                                                       stereo_call_path):
    from tests.serve.conftest import upload

    tenant_key = deployed.api_key("submit", "read", "admin", tenant="reanalysis")
    with deployed.client(tenant_key) as client:
        call = upload(client, stereo_call_path).json()
        assert call["status"] == "completed", call
        other = "tiny-en" if call["variant"] == "base" else "base"

        started = client.post("/v1/backfills", json={"kind": "reanalyze", "variant": other})
        assert started.status_code == 202, started.text
        seen = follow(lambda: _job(client, started.json()["id"]), timeout_s=300)
        assert (seen[-1].status, seen[-1].done, seen[-1].failed, seen[-1].executor) == ("done", 1, 0, "pipeline")
        [outcome] = client.get(f"/v1/backfills/{seen[-1].id}/outcomes").json()["items"]
        assert outcome["previous"]["variant"] == call["variant"] and outcome["analysis"]["variant"] == other
        now = client.get(f"/v1/calls/{call['id']}").json()
        assert (now["variant"], now["result"]["variant"]) == (other, other)
        assert now["result"]["models"]["asr"] != call["result"]["models"]["asr"]
        assert now["recording"]["redacted"]["state"] == "identical"
        assert client.post("/v1/backfills", json={"kind": "reanalyze", "variant": "nope"}).status_code == 422
