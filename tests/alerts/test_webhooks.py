"""Deliveries sent by the real dispatcher to a real receiver on 127.0.0.1: signed bodies the
receiver verifies with the secret, retries with backoff on 5xx and 429, giving up on a 4xx or
after max_attempts, redelivery, and nothing for another tenant's subscriptions."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time

import pytest

from callytics_ray.alerts import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    AlertDispatcher,
    AlertSubscription,
    enqueue_for,
    verify,
)
from callytics_ray.alerts.webhook import backoff_s
from callytics_ray.analytics import CategorySet, assess
from callytics_ray.settings import AlertSettings
from callytics_ray.storage import CallStore
from tests.alerts.receiver import verify_like_the_readme
from tests.storage.test_store import analysis

SECRET = "whsec-test-0123456789"
FAST = AlertSettings(backoff_s=0.3, max_backoff_s=1.0, timeout_s=2.0, max_attempts=4, poll_interval_s=0.05)
CARDS = CategorySet.model_validate({"name": "topics", "categories": [
    {"name": "cards", "description": "a card comes up", "rule": {"kind": "phrase", "speaker": "customer",
                                                                 "phrases": ["card"]}},
    {"name": "greeting", "rule": {"kind": "phrase", "phrases": ["hello"]}}]})


@pytest.fixture()
def store(tmp_path) -> CallStore:
    store = CallStore.from_url(f"sqlite:///{tmp_path / 'alerts.db'}")
    yield store
    store.engine.dispose()


def subscribe(store: CallStore, url: str, *, tenant: str = "acme", name: str = "cards", categories=("cards",)):
    store.put_alert(AlertSubscription(name=name, categories=list(categories), url=url, secret=SECRET), tenant=tenant)


def finish_call(store: CallStore, call_id: str = "c-1", *, tenant: str = "acme") -> list[str]:
    """Store a finished call (agent "hello there", customer "my card was charged twice") and enqueue
    its alerts as the gateway does."""
    call = analysis(call_id)
    store.create_call(tenant=tenant, call_id=call_id, agent_id="ann", customer_id="cust-9")
    store.save_analysis(call, tenant=tenant)
    return enqueue_for(store, assess([], [CARDS], call), call, tenant=tenant)


def dispatch(store: CallStore, settings: AlertSettings = FAST, worker_id: str = "w1") -> list[str]:
    return asyncio.run(AlertDispatcher(store, settings, worker_id=worker_id).dispatch_once())


def test_a_matched_call_is_posted_signed_and_the_receiver_verifies_it(store, make_receiver):
    receiver = make_receiver(200)
    subscribe(store, receiver.url)
    [delivery_id] = finish_call(store)
    assert dispatch(store) == [delivery_id]
    [got] = receiver.wait_for(1)
    signature_header = got.headers[SIGNATURE_HEADER]
    assert verify_like_the_readme(SECRET, got.body, signature_header)
    assert verify(SECRET, got.body, signature_header)
    assert not verify_like_the_readme("another-secret-value", got.body, signature_header)
    assert not verify(SECRET, got.body.replace(b"cards", b"cardz"), signature_header)  # tampered
    assert not verify(SECRET, got.body, signature_header, now=time.time() + 3600)  # replayed later
    body = json.loads(got.body)
    assert got.headers[DELIVERY_HEADER] == body["id"] == delivery_id
    assert got.headers[EVENT_HEADER] == body["type"] == "call.category_matched"
    assert got.path == "/hooks/callytics" and got.headers["Content-Type"] == "application/json"
    assert (body["tenant"], body["alert"], body["category"]["name"], body["category"]["category_set"]) == (
        "acme", "cards", "cards", "topics")
    assert body["call"]["id"] == "c-1" and body["call"]["agent_id"] == "ann" and body["call"]["customer_id"] == "cust-9"
    assert body["call"]["duration_s"] == 30.0 and body["call"]["language"] == "en"
    [evidence] = body["evidence"]
    # "card": word 1 (0.3 s apart) of the customer's line at 2.5 s
    assert (evidence["role"], evidence["text"], evidence["start"]) == ("customer", "card", pytest.approx(2.8))
    done = store.get_delivery(delivery_id, tenant="acme")
    assert (done.status, done.attempts, done.last_status_code) == ("delivered", 1, 200)
    assert [a.status_code for a in done.attempt_log] == [200]
    assert dispatch(store) == [] and len(receiver.received) == 1  # sent once


def test_a_5xx_is_retried_after_backoff_by_the_running_loop_and_both_attempts_are_logged(store, make_receiver):
    async def run() -> None:
        dispatcher = AlertDispatcher(store, FAST, worker_id="loop")
        dispatcher.start()
        try:
            deadline = time.monotonic() + 15
            while store.get_delivery(delivery_id, tenant="acme").status == "pending" and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            await dispatcher.stop()

    receiver = make_receiver(500, 200)
    subscribe(store, receiver.url)
    [delivery_id] = finish_call(store)
    asyncio.run(run())
    first, second = receiver.wait_for(2)
    assert second.at - first.at >= FAST.backoff_s / 2  # the backoff, less at most half its jitter
    assert first.headers[DELIVERY_HEADER] == second.headers[DELIVERY_HEADER] == delivery_id
    assert first.body == second.body and verify(SECRET, second.body, second.headers[SIGNATURE_HEADER])
    done = store.get_delivery(delivery_id, tenant="acme")
    assert (done.status, done.attempts, done.last_status_code) == ("delivered", 2, 200)
    assert [(a.number, a.status_code) for a in done.attempt_log] == [(1, 500), (2, 200)]
    assert done.attempt_log[0].error.startswith("HTTP 500")


def test_a_4xx_gives_up_at_once_and_a_redelivery_sends_the_same_delivery_again(store, make_receiver):
    receiver = make_receiver(410, 204)
    subscribe(store, receiver.url)
    [delivery_id] = finish_call(store)
    dispatch(store)
    failed = store.get_delivery(delivery_id, tenant="acme")
    assert (failed.status, failed.attempts, failed.last_status_code) == ("failed", 1, 410)
    assert failed.last_error == "HTTP 410: nope: 410" and failed.next_attempt_at is None
    assert dispatch(store) == []
    assert store.redeliver(delivery_id, tenant="acme")
    assert dispatch(store) == [delivery_id]
    first, again = receiver.wait_for(2)
    assert json.loads(again.body)["id"] == json.loads(first.body)["id"] == delivery_id
    redelivered = store.get_delivery(delivery_id, tenant="acme")
    assert redelivered.status == "delivered" and [a.status_code for a in redelivered.attempt_log] == [410, 204]


def test_429_and_unreachable_receivers_are_retried_until_max_attempts(store, make_receiver):
    receiver = make_receiver(429)
    subscribe(store, receiver.url)
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    subscribe(store, closed, name="gone")
    ids = finish_call(store)
    settings = FAST.model_copy(update={"max_attempts": 2, "backoff_s": 0.05})
    deadline = time.monotonic() + 10
    while any(store.get_delivery(i, tenant="acme").status == "pending" for i in ids) and time.monotonic() < deadline:
        dispatch(store, settings)
        time.sleep(0.03)
    by_alert = {d.alert: d for d in store.list_deliveries(tenant="acme")}
    throttled, unreachable = by_alert["cards"], by_alert["gone"]
    assert (throttled.status, throttled.attempts, throttled.last_status_code) == ("failed", 2, 429)
    assert "gave up after 2 attempts" in throttled.last_error and len(receiver.received) == 2
    assert (unreachable.status, unreachable.attempts, unreachable.last_status_code) == ("failed", 2, None)
    assert unreachable.last_error.startswith("ConnectError")
    assert [a.status_code for a in unreachable.attempt_log] == [None, None]


def test_another_tenants_subscription_gets_nothing(store, make_receiver):
    ours, theirs = make_receiver(200), make_receiver(200)
    subscribe(store, ours.url)
    subscribe(store, theirs.url, tenant="globex", name="everything", categories=["*"])
    finish_call(store, "c-1", tenant="acme")
    dispatch(store)
    assert len(ours.wait_for(1)) == 1
    time.sleep(0.2)
    assert theirs.received == [] and store.list_deliveries(tenant="globex") == []
    finish_call(store, "c-2", tenant="globex")
    dispatch(store)
    assert {json.loads(r.body)["call"]["id"] for r in theirs.wait_for(2)} == {"c-2"}  # cards and greeting
    assert len(theirs.received) == 2 and len(ours.received) == 1


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    settings = AlertSettings(backoff_s=10, max_backoff_s=100)
    rng = random.Random(7)
    for attempt, full in ((1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)):
        waits = [backoff_s(attempt, settings, rng) for _ in range(50)]
        assert all(full / 2 <= w <= full for w in waits) and max(waits) - min(waits) > full / 10
