"""The store methods the gateway adds (leases, requeue, experiment figures) on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from callytics_ray.errors import LeaseLostError, NotFoundError
from callytics_ray.result import CallAnalysis, SegmentResult, WordResult
from callytics_ray.storage import CallStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_store(request, tmp_path) -> CallStore:
    if request.param == "sqlite":
        store = CallStore.from_url(f"sqlite:///{tmp_path / 'leases.db'}")
    else:
        store = CallStore.from_url(request.getfixturevalue("postgres_url"))
    yield store
    store.engine.dispose()


def _call(store: CallStore, *, audio: bytes | None = b"RIFF....", tenant: str = "acme", **fields) -> str:
    # A tenant of its own per test keeps a shared PostgreSQL database's other rows out of the way.
    record, _ = store.create_call(tenant=tenant, audio=audio, stages=("audio", "asr"), **fields)
    return record.id


def test_exactly_one_of_many_racing_workers_gets_the_lease(any_store):
    call_id = _call(any_store)
    barrier, wins = threading.Barrier(8), []

    def worker(n: int) -> None:
        barrier.wait()
        if any_store.claim_call(call_id, f"worker-{n}", lease_s=30):
            wins.append(n)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(wins) == 1
    winner = f"worker-{wins[0]}"
    assert not any_store.claim_call(call_id, "late", lease_s=30)
    assert any_store.renew_lease(call_id, winner, lease_s=30)
    assert not any_store.renew_lease(call_id, "late", lease_s=30)
    any_store.release_call(call_id, "late")  # not the holder: changes nothing
    assert not any_store.claim_call(call_id, "late", lease_s=30)
    any_store.release_call(call_id, winner)
    assert any_store.claim_call(call_id, "late", lease_s=30)


def test_a_worker_that_lost_its_lease_cannot_store_a_second_result(any_store):
    # A worker stalls past its lease, another takes the call over: the stale worker's result is
    # refused whole, so the call is finished once, by the worker holding the lease.
    call_id = _call(any_store)
    assert any_store.claim_call(call_id, "stalled", lease_s=0.05)
    time.sleep(0.1)
    assert any_store.claim_call(call_id, "successor", lease_s=30)
    stale = CallAnalysis(call_id=call_id, segments=[SegmentResult(start=0.0, end=1.0, text="stale run")])
    with pytest.raises(LeaseLostError):
        any_store.save_analysis(stale, tenant="acme", lease_holder="stalled")
    record = any_store.get_call(call_id)
    assert record.status == "queued"
    assert any_store.call_texts([call_id]) == {}

    fresh = CallAnalysis(call_id=call_id, segments=[SegmentResult(start=0.0, end=1.0, text="the holder's run")])
    any_store.save_analysis(fresh, tenant="acme", lease_holder="successor")
    assert any_store.get_call(call_id).status == "completed"
    assert any_store.call_texts([call_id]) == {call_id: "the holder's run"}


def test_a_lapsed_lease_can_be_taken_over_and_the_old_holder_notices(any_store):
    call_id = _call(any_store)
    # Long enough that a loaded machine cannot let it lapse before the check below.
    assert any_store.claim_call(call_id, "dead", lease_s=2.0)
    assert call_id not in any_store.claimable_calls(limit=100_000)
    time.sleep(2.2)

    assert call_id in any_store.claimable_calls(limit=100_000)
    assert any_store.claim_call(call_id, "rescuer", lease_s=30)
    assert not any_store.renew_lease(call_id, "dead", lease_s=30)


def test_only_unfinished_calls_with_audio_are_claimable(any_store):
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    queued = _call(any_store, tenant=tenant)
    no_audio = _call(any_store, tenant=tenant, audio=None)
    finished = _call(any_store, tenant=tenant)
    any_store.set_status(finished, "completed")

    claimable = set(any_store.claimable_calls(limit=100_000))

    assert queued in claimable and no_audio not in claimable and finished not in claimable
    assert not any_store.claim_call(finished, "w", lease_s=30)
    assert not any_store.claim_call("no-such-call", "w", lease_s=30)


def test_requeue_only_moves_failed_or_partial_calls(any_store):
    failed, partial, done = _call(any_store), _call(any_store), _call(any_store)
    any_store.set_status(failed, "failed", error="asr: model gone")
    any_store.set_status(partial, "partial")
    any_store.set_status(done, "completed")

    assert any_store.requeue_call(failed, tenant="acme")
    assert any_store.get_call(failed).status == "queued" and any_store.get_call(failed).error is None
    assert not any_store.requeue_call(failed, tenant="acme")  # a second, concurrent retry loses
    assert any_store.requeue_call(partial)
    assert not any_store.requeue_call(done, tenant="acme")
    with pytest.raises(NotFoundError):
        any_store.requeue_call(done, tenant="someone-else")


def test_figures_and_texts_for_the_experiment_report(any_store):
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    call_id = _call(any_store, tenant=tenant, variant="tiny", request_json='{"reference_transcript": "hi there"}')
    _call(any_store, tenant=tenant)  # no variant: not part of any experiment
    any_store.set_stage(call_id, "audio", "done", seconds=0.5)
    any_store.set_stage(call_id, "asr", "done", seconds=2.0)
    words = [WordResult(start=0.0, end=0.4, text="hi", probability=0.6),
             WordResult(start=0.4, end=0.9, text="there", probability=1.0)]
    analysis = CallAnalysis(call_id=call_id, variant="tiny", segments=[
        SegmentResult(start=0.0, end=0.4, text=" hi", words=words[:1]),
        SegmentResult(start=0.4, end=0.9, text="there. ", words=words[1:]),
    ])
    any_store.save_analysis(analysis, tenant=tenant)

    [figures] = any_store.variant_figures(tenant=tenant)

    assert (figures.call_id, figures.variant, figures.status) == (call_id, "tiny", "completed")
    assert (figures.asr_s, figures.total_s, figures.words) == (2.0, 2.5, 2)
    assert figures.mean_word_probability == pytest.approx(0.8)
    assert figures.request_json == '{"reference_transcript": "hi there"}'
    assert any_store.call_texts([call_id]) == {call_id: "hi there."}
    assert [r.id for r in any_store.get_calls([call_id, "missing"], tenant=tenant)] == [call_id]
    assert any_store.get_calls([call_id], tenant="other") == []
