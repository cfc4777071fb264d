"""Alert subscriptions and deliveries in the store, on SQLite and PostgreSQL: per tenant, secrets
kept but never listed, one delivery per alert, call and category, leases that let exactly one
dispatcher send a delivery, the attempt log, redelivery."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from sqlmodel import Session, select

from callytics_ray.alerts import AlertSubscription, AttemptOutcome, NewDelivery, enqueue_for
from callytics_ray.analytics import CategorySet, assess
from callytics_ray.errors import ConfigError, NotFoundError
from callytics_ray.storage import CallStatus
from callytics_ray.storage.tables import AlertAttemptRow, AlertDeliveryRow
from tests.storage.test_store import analysis, store  # noqa: F401  (the SQLite / PostgreSQL store fixture)

SECRET = "s3cret-s3cret-s3cret"


def subscription(name: str = "escalations", categories=("cards",), **changes) -> AlertSubscription:
    return AlertSubscription.model_validate({"name": name, "categories": list(categories),
                                             "url": "http://127.0.0.1:9/hook", "secret": SECRET, **changes})


def delivery(delivery_id: str, call_id: str = "c-1", *, tenant: str = "acme", alert: str = "escalations",
             category: str = "cards") -> NewDelivery:
    return NewDelivery(id=delivery_id, tenant=tenant, alert=alert, call_id=call_id, category_set="topics",
                       category=category, payload_json='{"id": "%s"}' % delivery_id)


def finished_call(store, call_id: str = "c-1", *, tenant: str = "acme", status=CallStatus.COMPLETED):
    store.create_call(tenant=tenant, call_id=call_id, agent_id="ann")
    store.save_analysis(analysis(call_id), tenant=tenant, status=status)


def outcome(status: str, code: int | None, *, retry_at: float | None = None, error: str | None = None):
    return AttemptOutcome(status=status, started_at=datetime.now(timezone.utc), duration_ms=3.0, status_code=code,
                          error=error, retry_at=retry_at)


def test_subscriptions_are_per_tenant_and_keep_their_secret(store):
    stored, created = store.put_alert(subscription(description="cards"), tenant="acme")
    assert created and stored.categories == ["cards"] and stored.url == "http://127.0.0.1:9/hook"
    assert "secret" not in stored.model_dump()
    replaced, created = store.put_alert(subscription(categories=["*"], secret=None, active=False), tenant="acme")
    assert not created and replaced.categories == ["*"] and not replaced.active
    assert replaced.created_at == stored.created_at and replaced.updated_at >= stored.updated_at
    assert store.alerts_in_force(tenant="acme") == []  # inactive
    store.put_alert(subscription(secret=None), tenant="acme")
    [in_force] = store.alerts_in_force(tenant="acme")
    assert in_force.secret.get_secret_value() == SECRET  # the replacement without a secret kept it
    assert store.list_alerts(tenant="globex") == [] and store.alerts_in_force(tenant="globex") == []
    with pytest.raises(NotFoundError):
        store.get_alert("escalations", tenant="globex")
    with pytest.raises(ConfigError, match="needs|give it a secret"):
        store.put_alert(subscription("other", secret=None), tenant="acme")
    store.delete_alert("escalations", tenant="acme")
    assert store.list_alerts(tenant="acme") == []
    with pytest.raises(NotFoundError):
        store.delete_alert("escalations", tenant="acme")


def test_enqueue_stores_one_delivery_per_alert_call_and_category(store):
    finished_call(store)
    store.put_alert(subscription("cards-only", ["cards"]), tenant="acme")
    store.put_alert(subscription("everything", ["*"]), tenant="acme")
    store.put_alert(subscription("refunds", ["refunds"]), tenant="acme")
    store.put_alert(subscription("other-tenant", ["*"]), tenant="globex")
    categories = CategorySet.model_validate({"name": "topics", "categories": [
        {"name": "cards", "rule": {"kind": "phrase", "phrases": ["card"]}},
        {"name": "greeting", "rule": {"kind": "phrase", "phrases": ["hello"]}},
        {"name": "refunds", "rule": {"kind": "phrase", "phrases": ["refund"]}}]})
    assessment = assess([], [categories], analysis("c-1"))
    ids = enqueue_for(store, assessment, analysis("c-1"), tenant="acme")
    found = {(d.alert, d.category) for d in store.list_deliveries(tenant="acme")}
    assert len(ids) == 3 and found == {("cards-only", "cards"), ("everything", "cards"), ("everything", "greeting")}
    assert enqueue_for(store, assessment, analysis("c-1"), tenant="acme") == []  # a second run alerts once
    assert store.list_deliveries(tenant="globex") == []
    [pending] = store.list_deliveries(tenant="acme", alert="cards-only")
    assert pending.status == "pending" and pending.attempts == 0 and pending.next_attempt_at is not None
    with pytest.raises(NotFoundError):
        store.list_deliveries(tenant="globex", alert="cards-only")
    with pytest.raises(NotFoundError):
        store.get_delivery(pending.id, tenant="globex")


def test_claims_wait_for_the_finished_call_and_an_active_subscription(store):
    store.create_call(tenant="acme", call_id="c-1")  # queued: not sent before it is stored finished
    store.put_alert(subscription(), tenant="acme")
    assert store.add_deliveries([delivery("d-1")]) == ["d-1"]
    assert store.claim_deliveries("w1", 60) == []
    store.save_analysis(analysis("c-1"), tenant="acme", status=CallStatus.PARTIAL)
    store.put_alert(subscription(secret=None, active=False), tenant="acme")
    assert store.claim_deliveries("w1", 60) == []
    store.put_alert(subscription(secret=None), tenant="acme")
    [task] = store.claim_deliveries("w1", 60)
    assert (task.id, task.attempt, task.url, task.secret.get_secret_value()) == (
        "d-1", 1, "http://127.0.0.1:9/hook", SECRET)
    assert store.claim_deliveries("w2", 60) == []  # leased


def test_exactly_one_of_many_racing_dispatchers_claims_each_delivery(store):
    finished_call(store)
    store.put_alert(subscription(), tenant="acme")
    store.add_deliveries([delivery(f"d-{i}", category=f"cat-{i}") for i in range(12)])
    with ThreadPoolExecutor(4) as pool:
        claims = list(pool.map(lambda w: store.claim_deliveries(f"w{w}", 60), range(4)))
    claimed = [t.id for c in claims for t in c]
    assert sorted(claimed) == sorted(f"d-{i}" for i in range(12))  # each once, none twice


def test_a_lapsed_lease_is_claimed_again_and_the_late_owner_cannot_overwrite(store):
    finished_call(store)
    store.put_alert(subscription(), tenant="acme")
    store.add_deliveries([delivery("d-1")])
    assert [t.attempt for t in store.claim_deliveries("dead", 0.2)] == [1]
    time.sleep(0.3)
    [task] = store.claim_deliveries("alive", 60)
    assert task.attempt == 2
    assert not store.record_attempt("d-1", "dead", outcome("delivered", 200))  # logged, not applied
    assert store.record_attempt("d-1", "alive", outcome("delivered", 204))
    done = store.get_delivery("d-1", tenant="acme")
    assert (done.status, done.attempts, done.last_status_code, done.next_attempt_at) == ("delivered", 2, 204, None)
    assert [a.status_code for a in done.attempt_log] == [200, 204] and [a.number for a in done.attempt_log] == [1, 2]


def test_a_retry_waits_until_due_then_fails_and_can_be_redelivered(store):
    finished_call(store)
    store.put_alert(subscription(), tenant="acme")
    store.add_deliveries([delivery("d-1")])
    store.claim_deliveries("w1", 60)
    assert store.record_attempt("d-1", "w1", outcome("pending", 503, retry_at=time.time() + 0.3, error="HTTP 503"))
    assert store.claim_deliveries("w1", 60) == []  # not due yet
    time.sleep(0.4)
    [task] = store.claim_deliveries("w1", 60)
    assert task.attempt == 2
    store.record_attempt("d-1", "w1", outcome("failed", 400, error="HTTP 400: bad"))
    failed = store.get_delivery("d-1", tenant="acme")
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 2, "HTTP 400: bad")
    assert store.claim_deliveries("w1", 60) == []
    with pytest.raises(NotFoundError):
        store.redeliver("d-1", tenant="globex")
    assert store.redeliver("d-1", tenant="acme")
    assert not store.redeliver("d-1", tenant="acme")  # pending already
    [again] = store.claim_deliveries("w1", 60)
    assert again.attempt == 1 and len(store.get_delivery("d-1", tenant="acme").attempt_log) == 2


def test_deleting_a_call_or_an_alert_deletes_its_deliveries(store):
    finished_call(store, "c-1")
    finished_call(store, "c-2")
    store.put_alert(subscription(), tenant="acme")
    store.put_alert(subscription("second"), tenant="acme")
    store.add_deliveries([delivery("d-1", "c-1"), delivery("d-2", "c-2"), delivery("d-3", "c-2", alert="second")])
    for task in store.claim_deliveries("w1", 60):
        store.record_attempt(task.id, "w1", outcome("delivered", 200))
    store.delete_call("c-1", tenant="acme")
    store.delete_alert("second", tenant="acme")
    with Session(store.engine) as session:
        assert session.exec(select(AlertDeliveryRow.id)).all() == ["d-2"]
        assert session.exec(select(AlertAttemptRow.delivery_id)).all() == ["d-2"]
