"""Many writers on one SQLite file at once, from several processes (as the database service, two
gateway replicas and a backfill worker would be): no "database is locked" reaches a caller.

Each process runs the real CallStore in threads, through a call's whole life: submit (audio and
stage jobs), lease, stage states, the stored analysis, status, release, plus the rate-limit upsert,
an alert subscription replaced over and over, and reads in between. Before writes began with
BEGIN IMMEDIATE, a write that read first (set_stage, set_status, save_analysis, put_alert) failed
at once with "database is locked" whenever another connection committed between its read and its
write (SQLite cannot wait out a stale snapshot; busy_timeout never applies).
"""

from __future__ import annotations

import multiprocessing
import traceback
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import text

from callytics_ray.alerts.models import AlertSubscription
from callytics_ray.storage import CallFilter, CallStatus, CallStore
from tests.storage.test_store import analysis

PROCESSES = 3
THREADS = 3
CALLS_PER_THREAD = 4
STAGES = ("audio", "asr", "diarization", "sentiment")


def _one_call(store: CallStore, worker: str, n: int) -> None:
    """One call's life as the gateway and the database service write it, with reads in between."""
    record, created = store.create_call(tenant="load", source_name=f"{worker}-{n}.wav", audio=b"RIFF" + bytes(4000),
                                        idempotency_key=f"{worker}-{n}", stages=STAGES)
    assert created
    assert store.claim_call(record.id, worker, 30.0)
    for stage in STAGES:
        store.set_stage(record.id, stage, "running")
        store.renew_lease(record.id, worker, 30.0)
        store.take_rate_token(f"key-{n % 3}", per_minute=1_000_000, now=0.0)
        store.get_call(record.id, tenant="load")
        store.set_stage(record.id, stage, "done", seconds=0.1)
    store.save_analysis(analysis(record.id), tenant="load", lease_holder=worker)
    store.set_status(record.id, CallStatus.COMPLETED)
    store.release_call(record.id, worker)
    # Every thread of every process creates the n-th subscription at about the same time: one creates
    # it, the others replace it (a read-then-insert that must not race into a duplicate key).
    store.put_alert(AlertSubscription(name=f"escalations-{n}", categories=["*"], url="http://127.0.0.1:9/hook",
                                      secret="a-webhook-secret-of-32-characters"), tenant="load")
    store.list_calls(CallFilter(tenant="load"), limit=20)


def _writer_process(url: str, worker: str) -> list[str]:
    """Run THREADS threads of calls on this process's own engine; the errors, as text."""
    store = CallStore.from_url(url)

    def thread(t: int) -> list[str]:
        errors = []
        for n in range(CALLS_PER_THREAD):
            try:
                _one_call(store, f"{worker}-{t}", n)
            except Exception:  # every failure is the finding: collect it with its traceback
                errors.append(traceback.format_exc(limit=3))
        return errors

    with ThreadPoolExecutor(THREADS) as pool:
        return [e for errors in pool.map(thread, range(THREADS)) for e in errors]


def test_many_writers_in_several_processes_never_see_a_locked_database(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    # spawn: each process builds its engine from nothing, as replicas do (no connection inherited).
    with ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
        errors = [e for found in pool.map(_writer_process, [url] * PROCESSES, [f"w{i}" for i in range(PROCESSES)])
                  for e in found]
    assert errors == [], f"{len(errors)} of {PROCESSES * THREADS * CALLS_PER_THREAD} calls failed; first:\n{errors[0]}"

    store = CallStore.from_url(url)
    calls = store.list_calls(CallFilter(tenant="load"), limit=1000)
    expected = PROCESSES * THREADS * CALLS_PER_THREAD
    assert calls.total == expected
    assert {c.status for c in calls.items} == {CallStatus.COMPLETED}
    with store.engine.connect() as conn:  # every lease was released
        assert conn.execute(text("SELECT count(*) FROM calls WHERE claimed_by IS NOT NULL")).scalar_one() == 0
    assert all(s.status == "done" and s.attempts == 1
               for c in calls.items[:10] for s in store.stage_states(c.id))
    assert len(store.list_alerts(tenant="load")) == CALLS_PER_THREAD
