"""Backfill jobs without Ray: the chunk function, progress counts, cancelling, and resuming a job
whose driver died, on SQLite and PostgreSQL, over calls stored from one real analysis."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from callytics_ray.analytics import assess, builtin_categories, builtin_rubric
from callytics_ray.backfill import BackfillRunner, ConfigSelector, ThreadChunkExecutor, load_plan, resolve_spec, run_chunk
from callytics_ray.storage import CallStore
from callytics_ray.storage.backfills import BackfillFilter
from callytics_ray.storage.tables import Analysis, BackfillChunk
from bench.stored_calls import FIRST_DAY, horizon_categories, store_copies, wizard_rubric
from tests.storage.test_store import store  # noqa: F401  (the SQLite / PostgreSQL store fixture)


class CountingReader:
    """The store's analysis reads, with every call id a worker asked for."""

    def __init__(self, store: CallStore) -> None:
        self.store = store
        self.seen: list[str] = []
        self._lock = threading.Lock()

    def stored_analyses(self, call_ids):
        with self._lock:
            self.seen.extend(call_ids)
        return self.store.stored_analyses(call_ids)


def runner(store: CallStore, *, lease_s: float = 30.0, workers: int = 2, reader=None) -> BackfillRunner:
    return BackfillRunner(store, ThreadChunkExecutor(reader or store, workers=workers), lease_s=lease_s)


def scorecard(store: CallStore, call_id: str, rubric: str):
    return next(c for c in store.get_assessment(call_id).scorecards if c.rubric == rubric)


def test_a_named_rubric_rescores_every_stored_call_and_replaces_only_its_own_scorecards(store):
    ids = store_copies(store, 23)
    # Two calls already carry the built-in scorecard: a named backfill must leave it alone.
    for call_id in ids[:2]:
        store.save_assessment(call_id, assess([builtin_rubric()], [builtin_categories()], store.get_analysis(call_id)))
    store.put_rubric(wizard_rubric("wizard"), tenant="acme")
    store.put_rubric(wizard_rubric("dragon"), tenant="acme")
    spec = resolve_spec(store, tenant="acme", kind="rescore", rubric=ConfigSelector(name="qa"))
    job = store.create_backfill(spec, tenant="acme", chunk_size=5)
    assert (job.status, job.total, job.chunks, job.done, job.progress) == ("queued", 23, 5, 0, 0.0)
    assert [(r.name, r.version) for r in job.rubrics] == [("qa", 2)]

    ended = runner(store).drive(job.id)

    assert (ended.status, ended.done, ended.failed, ended.runs, ended.progress) == ("done", 23, 0, 1, 1.0)
    assert ended.calls_per_s > 0 and ended.finished_at is not None
    for call_id in ids:
        card = scorecard(store, call_id, "qa")
        assert (card.rubric_version, card.items[0].status) == (2, "fail")  # nobody says "dragon"
    assert {c.rubric for c in store.get_assessment(ids[0]).scorecards} == {"contact-center", "qa"}
    assert [c.rubric for c in store.get_assessment(ids[5]).scorecards] == ["qa"]
    assert store.pending_backfill_chunks(job.id) == []


def test_in_force_reassess_matches_categories_and_drops_what_is_no_longer_in_force(store):
    ids = store_copies(store, 6)
    store.save_assessment(ids[0], assess([builtin_rubric()], [builtin_categories()], store.get_analysis(ids[0])))
    store.put_rubric(wizard_rubric(), tenant="acme")
    store.put_category_set(horizon_categories(), tenant="acme")
    job = store.create_backfill(resolve_spec(store, tenant="acme", kind="reassess"), tenant="acme", chunk_size=4)

    assert runner(store).drive(job.id).status == "done"

    stored = store.get_assessment(ids[0])
    assert [(c.rubric, c.rubric_version, c.items[0].status) for c in stored.scorecards] == [("qa", 1, "pass")]
    assert [(m.category_set, m.category) for m in stored.categories] == [("topics", "horizon")]
    assert stored.categories[0].evidence[0].role == "customer"


def test_the_filter_fixes_which_calls_a_job_covers(store):
    store_copies(store, 40, agents=4)
    window = BackfillFilter(created_after=FIRST_DAY + timedelta(days=1), created_before=FIRST_DAY + timedelta(days=3),
                            agent_id="agent-1")
    job = store.create_backfill(resolve_spec(store, tenant="acme", kind="rescore", filter=window),
                                tenant="acme", chunk_size=50)
    # Days 1 and 2 hold calls 10..29; agent-1 has every fourth: 13, 17, 21, 25, 29.
    assert job.total == 5 and job.filter == window
    assert [c.call_ids for c in store.pending_backfill_chunks(job.id)] == [
        ("call-00013", "call-00017", "call-00021", "call-00025", "call-00029")]
    other = store.create_backfill(resolve_spec(store, tenant="other", kind="rescore"), tenant="other", chunk_size=5)
    assert (other.total, other.status) == (0, "done")  # another tenant's calls are never covered


def test_a_job_whose_driver_died_resumes_without_redoing_or_recounting_finished_chunks(store):
    ids = store_copies(store, 40)
    store.put_rubric(wizard_rubric("dragon"), tenant="acme")
    job = store.create_backfill(resolve_spec(store, tenant="acme", kind="rescore"), tenant="acme", chunk_size=5)

    # Driver A stores 3 of the 8 chunks, computes a 4th, and dies before storing it.
    dead = "driver-a"
    assert store.claim_backfill(job.id, dead, lease_s=0.5)
    plan = load_plan(store, store.get_backfill(job.id))
    chunks = store.pending_backfill_chunks(job.id)
    for chunk in chunks[:3]:
        stored = run_chunk(store, plan, chunk, worker_id=dead, lease_s=0.5)
        assert (stored.done, stored.failed) == (5, 0)
    halfway = store.get_backfill(job.id)
    assert (halfway.status, halfway.done, halfway.runs) == ("running", 15, 1)

    # While A's lease is live, nobody takes the job over.
    successor = runner(store, reader=(reader := CountingReader(store)))
    assert successor.resume_orphans() == []
    time.sleep(0.6)
    assert successor.resume_orphans() == [job.id]
    assert successor.wait(timeout_s=60)

    ended = store.get_backfill(job.id)
    assert (ended.status, ended.total, ended.done, ended.failed, ended.runs) == ("done", 40, 40, 0, 2)
    # The successor computed exactly the chunks A had not stored, each call once.
    assert sorted(reader.seen) == sorted(c for chunk in chunks[3:] for c in chunk.call_ids)
    with Session(store.engine) as session:
        per_chunk = session.exec(select(BackfillChunk.status, BackfillChunk.done)
                                 .where(BackfillChunk.backfill_id == job.id)).all()
    assert per_chunk == [("done", 5)] * 8
    assert all(scorecard(store, c, "qa").items[0].status == "fail" for c in ids)
    # A's late write of its 4th chunk changes nothing now.
    assert run_chunk(store, plan, chunks[3], worker_id=dead, lease_s=0.5) is None
    assert store.get_backfill(job.id).done == 40


def test_cancelling_stops_the_job_before_its_next_chunk(store):
    store_copies(store, 20)
    job = store.create_backfill(resolve_spec(store, tenant="acme", kind="rescore"), tenant="acme", chunk_size=5)
    driver = runner(store, workers=1)

    class CancelAfterFirst(ThreadChunkExecutor):
        def run(self, plan, chunks, store_chunk):
            def then_cancel(result):
                stored = store_chunk(result)
                store.cancel_backfill(job.id, tenant="acme")
                return stored
            super().run(plan, chunks, then_cancel)

    driver.executor = CancelAfterFirst(store, workers=1)
    ended = driver.drive(job.id)
    assert (ended.status, ended.done) == ("cancelled", 5)
    assert store.cancel_backfill(job.id, tenant="acme")[1] is False  # already finished
    assert driver.drive(job.id) is None and store.resumable_backfills() == []


def test_a_call_without_its_analysis_counts_as_failed_and_the_rest_are_stored(store):
    ids = store_copies(store, 6)
    job = store.create_backfill(resolve_spec(store, tenant="acme", kind="rescore"), tenant="acme", chunk_size=4)
    with Session(store.engine) as session:
        session.delete(session.get(Analysis, ids[2]))
        session.commit()

    ended = runner(store).drive(job.id)

    assert (ended.status, ended.done, ended.failed) == ("done", 5, 1)
    assert "no stored analysis" in store.get_assessment(ids[2]).error
    assert store.get_assessment(ids[3]).error is None


def test_resolving_a_spec_checks_what_the_kind_applies(store):
    with pytest.raises(ValueError, match="not a category set"):
        resolve_spec(store, tenant="acme", kind="rescore", category_set=ConfigSelector(name="topics"))
    from callytics_ray.errors import NotFoundError

    with pytest.raises(NotFoundError):
        resolve_spec(store, tenant="acme", kind="rescore", rubric=ConfigSelector(name="qa", version=3))
    builtin = resolve_spec(store, tenant="acme", kind="recategorize")
    assert [(s.name, s.version) for s in builtin.category_sets] == [(builtin_categories().name, 0)]
