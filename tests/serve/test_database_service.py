"""The gateway's store writes only through the database service (in process, no cluster).

A stand-in handle pickles every request and answer, as a process boundary does, and runs the real
DatabaseServiceDeployment class on a writable engine; the gateway's ServeCallStore reads the same
SQLite file through its read-only engine.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import pickle
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from callytics_ray.alerts import AlertSubscription, AttemptOutcome, enqueue_for
from callytics_ray.analytics import CategorySet, Rubric, assess
from callytics_ray.drivers.report import StoredEmbedding
from callytics_ray.backfill import compute_chunk, load_plan
from callytics_ray.errors import NotFoundError
from callytics_ray.pipeline.redacted_audio import identical
from callytics_ray.storage import WRITE_METHODS, CallFilter, CallStatus, CallStore
from callytics_ray.storage.backfills import BackfillSpec, ConfigRef
from callytics_ray.storage.tables import Call
from deployments.database import DatabaseServiceDeployment, ServeCallStore
from tests.storage.test_store import analysis


class _Answer:
    def __init__(self, value: Any) -> None:
        self._value = value

    def result(self, timeout_s: float | None = None) -> Any:
        return pickle.loads(self._value)


class FakeDatabaseHandle:
    """`handle.write.remote(method, args, kwargs).result(timeout_s=)` over a service in this process."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.forwarded: list[str] = []

    @property
    def write(self) -> FakeDatabaseHandle:
        return self

    def remote(self, method: str, args: tuple, kwargs: dict) -> _Answer:
        self.forwarded.append(method)
        method, args, kwargs = pickle.loads(pickle.dumps((method, args, kwargs)))
        return _Answer(pickle.dumps(asyncio.run(self.service.write(method, args, kwargs))))


@pytest.fixture()
def service(tmp_path):
    # _setup sends the core's logs to Serve's replica handlers; give the test process its own back.
    core = logging.getLogger("callytics_ray")
    saved = (list(core.handlers), core.level, core.propagate)
    try:
        yield DatabaseServiceDeployment.func_or_class({"database_url": f"sqlite:///{tmp_path / 'calls.db'}"})
    finally:
        core.handlers[:], core.propagate = saved[0], saved[2]
        core.setLevel(saved[1])


@pytest.fixture()
def database(service) -> FakeDatabaseHandle:
    return FakeDatabaseHandle(service)


@pytest.fixture()
def gateway_store(service, database) -> ServeCallStore:
    store = ServeCallStore(service.settings.database_url, database)
    yield store
    store.engine.dispose()


_RUBRIC = Rubric.model_validate({"name": "qa", "items": [{"id": "refund", "description": "refund offered",
    "check": {"kind": "rule", "rule": {"kind": "phrase", "phrases": ["refund"]}}}]})
_CATEGORIES = CategorySet.model_validate({"name": "topics", "categories": [
    {"name": "refund", "rule": {"kind": "phrase", "phrases": ["refund"]}}]})
_ALERT = AlertSubscription(name="hook", categories=["refund"], url="http://127.0.0.1:9/hook", secret="0123456789abcdef")
_FAILED = AttemptOutcome(status="failed", started_at="2026-12-01T00:00:00Z", duration_ms=1.0, status_code=410)


def _delivery_id(store: CallStore) -> str:
    return store.list_deliveries(tenant="acme", alert="hook")[0].id

_BACKFILL = BackfillSpec(kind="rescore", rubrics_mode="named", rubrics=(ConfigRef(name="qa", version=1),),
                         category_sets_mode="none")


def _job(store: CallStore) -> str:
    return store.list_backfills(tenant="acme")[0].id


# Every public CallStore method, in an order that makes each meaningful; the test below fails
# until a new method is added here, so a new write cannot go untried on the gateway.
SCENARIO: list[tuple[str, Callable[[CallStore], Any]]] = [
    ("ping", lambda s: s.ping()),
    ("create_call", lambda s: s.create_call(tenant="acme", call_id="c-1", source_name="a.wav", audio=b"RIFF",
                                            variant="base", request_json="{}", stages=("audio", "asr"),
                                            agent_id="ann")),
    ("get_call", lambda s: s.get_call("c-1", tenant="acme").status == CallStatus.QUEUED),
    ("get_calls", lambda s: [c.id for c in s.get_calls(["c-1"], tenant="acme")] == ["c-1"]),
    ("get_request_json", lambda s: s.get_request_json("c-1") == "{}"),
    ("get_audio", lambda s: s.get_audio("c-1") == (b"RIFF", "a.wav")),
    ("get_audio_media", lambda s: s.get_audio_media("c-1", tenant="acme")[::2] == (b"RIFF", "a.wav")),
    ("save_audio_redaction", lambda s: s.save_audio_redaction("c-1", identical()) is None),
    ("get_redacted_audio_media", lambda s: s.get_redacted_audio_media("c-1", tenant="acme")[0] == b"RIFF"),
    ("unfinished_calls", lambda s: s.unfinished_calls() == ["c-1"]),
    ("claimable_calls", lambda s: s.claimable_calls() == ["c-1"]),
    ("claim_call", lambda s: s.claim_call("c-1", "worker-1", 60.0)),
    ("renew_lease", lambda s: s.renew_lease("c-1", "worker-1", 60.0)),
    ("set_status", lambda s: s.set_status("c-1", CallStatus.PROCESSING) is None),
    ("set_stage", lambda s: s.set_stage("c-1", "asr", "running") is None),
    ("most_attempted_stage", lambda s: s.most_attempted_stage("c-1") == ("asr", 1)),
    ("stage_states", lambda s: [(x.stage, x.status) for x in s.stage_states("c-1")] == [("audio", "pending"), ("asr", "running")]),
    ("save_analysis", lambda s: s.save_analysis(analysis("c-1", texts=("refund please",)), tenant="acme",
                                                status=CallStatus.FAILED, error="boom") is None),
    ("get_analysis", lambda s: s.get_analysis("c-1", tenant="acme").call_id == "c-1"),
    ("list_calls", lambda s: s.list_calls(CallFilter(tenant="acme", status="failed")).total == 1),
    ("search", lambda s: [h.call_id for h in s.search("refund", tenant="acme")] == ["c-1"]),
    ("search_calls", lambda s: s.search_calls("refund", CallFilter(tenant="acme"), max_hits=10).total == 1),
    ("variant_figures", lambda s: [f.call_id for f in s.variant_figures(tenant="acme")] == ["c-1"]),
    ("call_texts", lambda s: s.call_texts(["c-1"]) == {"c-1": "refund please"}),
    ("agent_summaries", lambda s: [(a.agent_id, a.calls, a.analysed_calls)
                                   for a in s.agent_summaries(CallFilter(tenant="acme"))] == [("ann", 1, 1)]),
    ("agent_trend", lambda s: [b.calls for b in s.agent_trend(CallFilter(tenant="acme", agent_id="ann"))] == [1]),
    ("driver_calls", lambda s: s.driver_calls(CallFilter(tenant="acme"), limit=10) == ([], 0)),  # no reason yet
    ("save_call_embeddings", lambda s: s.save_call_embeddings("m", [StoredEmbedding("c-1", "h", b"\0" * 4)]) is None),
    ("call_embeddings", lambda s: s.call_embeddings(["c-1"], "m")["c-1"].text_hash == "h"),
    ("put_rubric", lambda s: s.put_rubric(_RUBRIC, tenant="acme").version == 1),
    ("get_rubric", lambda s: s.get_rubric("qa", tenant="acme").version == 1),
    ("list_rubrics", lambda s: [r.name for r in s.list_rubrics(tenant="acme")] == ["qa"]),
    ("rubric_versions", lambda s: [v.version for v in s.rubric_versions("qa", tenant="acme")] == [1]),
    ("rubrics_in_force", lambda s: [r.name for r in s.rubrics_in_force(tenant="acme")] == ["qa"]),
    ("put_category_set", lambda s: s.put_category_set(_CATEGORIES, tenant="acme").version == 1),
    ("get_category_set", lambda s: s.get_category_set("topics", tenant="acme").version == 1),
    ("list_category_sets", lambda s: [c.name for c in s.list_category_sets(tenant="acme")] == ["topics"]),
    ("category_set_versions", lambda s: [v.version for v in s.category_set_versions("topics", tenant="acme")] == [1]),
    ("category_sets_in_force", lambda s: [c.name for c in s.category_sets_in_force(tenant="acme")] == ["topics"]),
    ("put_vocabulary", lambda s: s.put_vocabulary(["Zentrafy"], tenant="acme", created_by="cr_x").version == 1),
    ("get_vocabulary", lambda s: s.get_vocabulary(tenant="acme").terms == ["Zentrafy"]),
    ("vocabulary_versions", lambda s: [v.version for v in s.vocabulary_versions(tenant="acme")] == [1]),
    ("save_assessment", lambda s: s.save_assessment("c-1", assess([_RUBRIC], [_CATEGORIES], s.get_analysis("c-1")))
     is None),
    ("get_assessment", lambda s: [m.category for m in s.get_assessment("c-1", tenant="acme").categories] == ["refund"]),
    ("agent_scores", lambda s: [(a.calls, a.mean_score) for a in s.agent_scores("qa", tenant="acme")] == [(1, 100.0)]),
    ("put_alert", lambda s: s.put_alert(_ALERT, tenant="acme")[1]),
    ("get_alert", lambda s: s.get_alert("hook", tenant="acme").url == "http://127.0.0.1:9/hook"),
    ("list_alerts", lambda s: [a.name for a in s.list_alerts(tenant="acme")] == ["hook"]),
    ("alerts_in_force", lambda s: [a.secret.get_secret_value() for a in s.alerts_in_force(tenant="acme")]
     == ["0123456789abcdef"]),
    ("add_deliveries", lambda s: len(enqueue_for(s, s.get_assessment("c-1"), s.get_analysis("c-1"), tenant="acme"))
     == 1),
    # Deliveries are sent once their call is stored finished (save_analysis above stored it failed).
    ("set_status", lambda s: s.set_status("c-1", CallStatus.PARTIAL) is None),
    ("claim_deliveries", lambda s: [(t.alert, t.attempt) for t in s.claim_deliveries("worker-1", 60.0)]
     == [("hook", 1)]),
    ("record_attempt", lambda s: s.record_attempt(_delivery_id(s), "worker-1", _FAILED)),
    ("list_deliveries", lambda s: [(d.status, d.attempts) for d in s.list_deliveries(tenant="acme")]
     == [("failed", 1)]),
    ("get_delivery", lambda s: s.get_delivery(_delivery_id(s), tenant="acme").last_status_code == 410),
    ("redeliver", lambda s: s.redeliver(_delivery_id(s), tenant="acme")),
    ("delete_alert", lambda s: s.delete_alert("hook", tenant="acme") is None),
    ("take_rate_token", lambda s: s.take_rate_token("key:a", per_minute=60, now=1.0) == 0.0),
    # A backfill over the one call (partial calls are scored too; requeue_call below needs partial).
    ("set_status", lambda s: s.set_status("c-1", CallStatus.PARTIAL) is None),
    ("create_backfill", lambda s: s.create_backfill(_BACKFILL, tenant="acme", chunk_size=10).total == 1),
    ("list_backfills", lambda s: [b.status for b in s.list_backfills(tenant="acme")] == ["queued"]),
    ("get_backfill", lambda s: s.get_backfill(_job(s), tenant="acme").total == 1),
    ("resumable_backfills", lambda s: s.resumable_backfills() == [_job(s)]),
    ("claim_backfill", lambda s: s.claim_backfill(_job(s), "driver-1", 60.0)),
    ("renew_backfill", lambda s: s.renew_backfill(_job(s), "driver-1", 60.0)),
    ("pending_backfill_chunks", lambda s: [c.call_ids for c in s.pending_backfill_chunks(_job(s))] == [("c-1",)]),
    ("stored_analyses", lambda s: list(s.stored_analyses(["c-1", "c-2"])) == ["c-1"]),
    ("store_backfill_chunk", lambda s: s.store_backfill_chunk(
        compute_chunk(s, load_plan(s, s.get_backfill(_job(s))), s.pending_backfill_chunks(_job(s))[0]),
        worker_id="driver-1", lease_s=60.0)),
    ("end_backfill", lambda s: s.end_backfill(_job(s), "driver-1").done == 1),
    ("backfill_outcomes", lambda s: [o.call_id for o in s.backfill_outcomes(_job(s), tenant="acme")] == ["c-1"]),
    ("release_backfill", lambda s: s.release_backfill(_job(s), "driver-1") is None),
    ("cancel_backfill", lambda s: s.cancel_backfill(_job(s), tenant="acme")[1] is False),
    ("release_call", lambda s: s.release_call("c-1", "worker-1") is None),
    ("delete_expired_originals", lambda s: s.delete_expired_originals(created_before=datetime(2999, 1, 1)) == ["c-1"]),
    ("recording_info", lambda s: s.recording_info("c-1", tenant="acme").original == "deleted"),
    ("requeue_call", lambda s: s.requeue_call("c-1", tenant="acme")),
    ("delete_call", lambda s: s.delete_call("c-1", tenant="acme") is None),
]


def _public_methods(cls: type) -> set[str]:
    # from_url builds a store; it is no operation on one.
    return {name for name, _ in inspect.getmembers(cls, callable) if not name.startswith("_")} - {"from_url"}


def test_every_write_goes_through_the_database_service(gateway_store, database):
    assert [name for name, _ in SCENARIO] and {name for name, _ in SCENARIO} == _public_methods(CallStore)
    for name, step in SCENARIO:
        before = len(database.forwarded)
        outcome = step(gateway_store)
        # Reads run on the gateway's read-only engine (a read that wrote would fail there) and
        # see what the service committed just before.
        assert outcome not in (False, None) or name in {"ping"}, name
        assert database.forwarded[before:] == ([name] if name in WRITE_METHODS else []), name
    assert set(database.forwarded) == set(WRITE_METHODS)
    assert {"create_call", "claim_call", "renew_lease", "release_call", "requeue_call", "delete_call",
            "set_status", "set_stage", "save_analysis", "put_rubric", "put_category_set",
            "save_assessment", "put_alert", "delete_alert", "add_deliveries", "claim_deliveries", "record_attempt",
            "redeliver", "take_rate_token", "put_vocabulary", "save_audio_redaction",
            "delete_expired_originals", "save_call_embeddings", "create_backfill", "claim_backfill",
            "store_backfill_chunk", "end_backfill", "cancel_backfill"} <= set(WRITE_METHODS)
    with pytest.raises(NotFoundError):
        gateway_store.get_call("c-1")


def test_the_gateway_engine_refuses_any_write_of_its_own(gateway_store):
    gateway_store.create_call(tenant="acme", call_id="c-1")
    with pytest.raises(DBAPIError), gateway_store.engine.begin() as conn:
        conn.execute(update(Call).values(status=CallStatus.FAILED))
    # What CallStore's own write methods would do on this engine, had they not been forwarded.
    with pytest.raises(DBAPIError):
        CallStore.set_status(gateway_store, "c-1", CallStatus.FAILED)
    assert gateway_store.get_call("c-1").status == CallStatus.QUEUED


def test_core_errors_come_back_as_themselves(gateway_store):
    with pytest.raises(NotFoundError, match="^call missing not found$"):
        gateway_store.delete_call("missing", tenant="acme")
    with pytest.raises(NotFoundError):
        gateway_store.requeue_call("missing")
    record, created = gateway_store.create_call(tenant="acme", idempotency_key="k")
    again, created_again = gateway_store.create_call(tenant="acme", idempotency_key="k")
    assert created and not created_again and again.id == record.id


def test_the_service_applies_writes_only(service):
    with pytest.raises(ValueError, match="not a CallStore write"):
        asyncio.run(service.write("get_call", ("c-1",), {}))
    with pytest.raises(ValueError):
        asyncio.run(service.write("_find_idempotent", ("acme", "k"), {}))
