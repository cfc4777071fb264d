"""Jobs are never lost: a failing stage leaves a retriable call, dead workers' calls are resumed,
and leases keep two workers from running one call."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlmodel import Session

from callytics_ray.api import LocalRunner, Reconciler, StoredRequest, load_call_request
from callytics_ray.pipeline import STAGES, LocalStages
from callytics_ray.storage import CallStore
from callytics_ray.storage.tables import Call
from tests.api.conftest import FAST_RETRY, poll, upload, with_api

pytestmark = pytest.mark.models


def _stages(store: CallStore, call_id: str, names: tuple[str, ...] = ("audio", "asr")) -> dict[str, tuple[str, int]]:
    """(status, runs) of the stages that matter here; the pipeline has more, which follow them."""
    return {s.stage: (s.status, s.attempts) for s in store.stage_states(call_id) if s.stage in names}


def _lease(store: CallStore, call_id: str) -> tuple[str | None, float | None]:
    with Session(store.engine) as session:
        call = session.get(Call, call_id)
        return call.claimed_by, call.lease_until


def _accepted_call(store: CallStore, audio: bytes, **options) -> str:
    """A call as the gateway stores it before replying: record, audio, request, pending jobs."""
    record, _ = store.create_call(
        tenant="acme", source_name="stranded.wav", audio=audio, content_type="audio/wav",
        agent_id=options.get("agent_id"),
        request_json=StoredRequest(**options).model_dump_json(exclude_none=True), stages=STAGES,
    )
    return record.id


def test_a_failing_stage_leaves_a_retriable_call_that_retry_completes(
    make_client, key_for, api_settings, store, stereo_bytes, tmp_path: Path
):
    # A speech-recognizer model directory that is really broken: it exists but holds no model.
    broken_dir = tmp_path / "whisper-broken"
    broken_dir.mkdir()
    broken = LocalStages(api_settings.model_copy(
        update={"asr": api_settings.asr.model_copy(update={"model": str(broken_dir)})}))
    headers = key_for("acme", ("submit", "read", "admin"))
    failing = make_client(api_settings, backend=broken)

    reply = upload(failing, headers, stereo_bytes, language="en", params={"wait": "true"})

    assert reply.status_code == 200, reply.text
    call = reply.json()
    assert call["status"] == "failed"
    assert "asr" in call["error"] and "whisper" in call["error"].lower()
    assert _stages(store, call["id"]) == {"audio": ("done", 1), "asr": ("failed", 1)}
    # What succeeded is stored: the audio stage's findings.
    assert call["result"]["audio"]["duration_s"] == pytest.approx(5.0, abs=0.1)
    assert call["result"]["errors"]["asr"]
    assert store.get_audio(call["id"])[0] == stereo_bytes

    # The gateway restarts with a working recognizer; the stored call runs again from the database.
    working = make_client(api_settings)
    retried = working.post(f"/v1/calls/{call['id']}/retry", headers=headers, params={"wait": "true"})

    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "completed" and "error" not in retried.json()
    assert "wizard" in retried.json()["result"]["segments"][-1]["text"].lower() + \
        retried.json()["result"]["segments"][0]["text"].lower()
    # Attempts count within one run: the retry started each stage's budget over.
    assert _stages(store, call["id"]) == {"audio": ("done", 1), "asr": ("done", 1)}
    assert _lease(store, call["id"]) == (None, None)
    again = working.post(f"/v1/calls/{call['id']}/retry", headers=headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_retriable"


def test_startup_reconciler_resumes_a_call_whose_worker_died(make_client, key_for, api_settings, store, stereo_bytes):
    call_id = _accepted_call(store, stereo_bytes, language="en", channel_layout="dual", agent_id="agent-9")
    # Its worker claimed it, started the audio stage and died: the lease runs out unrenewed.
    assert store.claim_call(call_id, "dead-worker", lease_s=0.05)
    store.set_status(call_id, "processing")
    store.set_stage(call_id, "audio", "running")
    time.sleep(0.1)

    client = make_client(api_settings)  # start-up runs the reconciler once

    done = poll(client, key_for("acme"), call_id)
    assert done["status"] == "completed", done
    # Rebuilt from the stored request: the layout and language hint were honoured.
    assert done["result"]["audio"]["layout"] == "dual" and done["result"]["language"] == "en"
    assert done["agent_id"] == "agent-9"
    assert _stages(store, call_id) == {"audio": ("done", 2), "asr": ("done", 1)}
    assert _lease(store, call_id) == (None, None)


def test_reconciler_leaves_a_call_with_a_live_lease_alone(api_settings, store, local_stages, stereo_bytes):
    call_id = _accepted_call(store, stereo_bytes)
    assert store.claim_call(call_id, "live-worker", lease_s=300)
    store.set_status(call_id, "processing")

    async def scenario():
        runner = LocalRunner(local_stages, store, api_settings, retry=FAST_RETRY)
        reconciler = Reconciler(store, runner, interval_s=3600)
        assert await reconciler.reconcile_once() == []
        # Even handed the call directly, a runner will not take a live lease.
        await runner.start(load_call_request(store, call_id))
        await runner.wait(call_id, 1.0)
        assert _stages(store, call_id) == {"audio": ("pending", 0), "asr": ("pending", 0)}
        assert store.get_call(call_id).status == "processing"
        assert _lease(store, call_id)[0] == "live-worker"

        store.release_call(call_id, "live-worker")  # that worker gives the call up
        assert await reconciler.reconcile_once() == [call_id]
        await runner.wait(call_id, 120)

    asyncio.run(scenario())
    assert store.get_call(call_id).status == "completed"
    assert _stages(store, call_id) == {"audio": ("done", 1), "asr": ("done", 1)}


def test_two_runners_racing_for_one_call_run_it_once_and_keep_the_lease(api_settings, store, local_stages, stereo_bytes):
    # Renewed every 1 s while the call runs for seconds; long enough that a loaded CI machine
    # does not let it lapse between renewals (then another worker would rightly take the call over).
    settings = with_api(api_settings, lease_s=3.0)
    call_id = _accepted_call(store, stereo_bytes)
    request = load_call_request(store, call_id)
    stolen, leases = [], []

    async def scenario():
        first = LocalRunner(local_stages, store, settings, retry=FAST_RETRY, worker_id="replica-a")
        second = LocalRunner(local_stages, store, settings, retry=FAST_RETRY, worker_id="replica-b")
        # The same runner asked twice (a resume racing the first start) and another replica at once.
        await asyncio.gather(first.start(request), first.start(request), second.start(request))
        deadline = time.monotonic() + 300
        while store.get_call(call_id).status in ("queued", "processing"):
            assert time.monotonic() < deadline, "the call never finished"
            stolen.append(store.claim_call(call_id, "intruder", lease_s=3.0))
            leases.append(_lease(store, call_id))
            await asyncio.sleep(0.25)
        await asyncio.gather(first.wait(call_id, 5), second.wait(call_id, 5))
        await asyncio.sleep(0.2)  # let the chained second start of `first` find the call finished
        assert first.active_calls == frozenset() and second.active_calls == frozenset()

    asyncio.run(scenario())
    assert store.get_call(call_id).status == "completed"
    assert _stages(store, call_id) == {"audio": ("done", 1), "asr": ("done", 1)}
    assert len(stolen) >= 4 and not any(stolen)
    holders = {holder for holder, _ in leases if holder}
    assert len(holders) == 1 and holders <= {"replica-a", "replica-b"}
    until = [u for _, u in leases if u is not None]
    assert len(set(until)) >= 2 and until == sorted(until), "the lease was never renewed"
    assert _lease(store, call_id) == (None, None)


def test_a_call_that_cannot_be_rebuilt_is_failed_with_the_reason(api_settings, store, local_stages, stereo_bytes):
    record, _ = store.create_call(tenant="acme", audio=stereo_bytes, request_json="{not json", stages=STAGES)

    async def scenario():
        runner = LocalRunner(local_stages, store, api_settings, retry=FAST_RETRY)
        return await Reconciler(store, runner, interval_s=3600).reconcile_once()

    assert asyncio.run(scenario()) == []
    call = store.get_call(record.id)
    assert call.status == "failed" and "cannot be resumed" in call.error


def test_a_call_that_keeps_killing_its_worker_is_given_up_then_retry_starts_it_over(
    api_settings, store, local_stages, stereo_bytes
):
    call_id = _accepted_call(store, stereo_bytes)
    store.set_status(call_id, "processing")
    # Three workers in a row took the call, started recognition and died mid-stage.
    for _ in range(3):
        store.set_stage(call_id, "audio", "running")
        store.set_stage(call_id, "audio", "done")
        store.set_stage(call_id, "asr", "running")
    assert store.most_attempted_stage(call_id) == ("asr", 3)

    async def scenario():
        runner = LocalRunner(local_stages, store, api_settings, retry=FAST_RETRY)
        reconciler = Reconciler(store, runner, interval_s=3600, max_stage_attempts=3)
        assert await reconciler.reconcile_once() == []
        call = store.get_call(call_id)
        assert call.status == "failed" and "stage asr was started 3 times" in call.error
        # The retry endpoint's requeue gives the stages a fresh budget; the call then completes.
        assert store.requeue_call(call_id)
        assert _stages(store, call_id) == {"audio": ("done", 0), "asr": ("running", 0)}
        assert await reconciler.reconcile_once() == [call_id]
        await runner.wait(call_id, 120)

    asyncio.run(scenario())
    assert store.get_call(call_id).status == "completed"
