"""An alert for the real recording's analysis (stereo_diarization.wav, see test_real_call.py): the
webhook a real receiver gets names the category that matched and the evidence's words, role and
seconds as the recognizer timed them."""

from __future__ import annotations

import asyncio
import json

import pytest

from callytics_ray.alerts import SIGNATURE_HEADER, AlertDispatcher, AlertSubscription
from callytics_ray.analytics import CategorySet
from callytics_ray.pipeline.assessment import assess_finished_call
from callytics_ray.settings import AlertSettings
from callytics_ray.storage import CallStatus, CallStore
from tests.alerts.receiver import make_receiver, verify_like_the_readme  # noqa: F401  (the fixture)
from tests.analytics.test_real_call import start_of

pytestmark = pytest.mark.models

SECRET = "real-call-secret-0001"


def test_the_webhook_carries_the_matched_category_and_its_evidence(real_call, tmp_path, make_receiver):
    store = CallStore.from_url(f"sqlite:///{tmp_path / 'alerts.db'}")
    receiver = make_receiver(200)
    store.put_category_set(CategorySet.model_validate({"name": "qa", "categories": [
        {"name": "complaint-about-wizard", "description": "the agent mentions a complaint about the wizard",
         "rule": {"kind": "near", "speaker": "agent", "phrases": ["complaint"], "near": ["wizard"],
                  "within_words": 3}},
        {"name": "agent-horizon", "rule": {"kind": "phrase", "speaker": "agent", "phrases": ["horizon"]}}]}),
        tenant="acme")
    store.put_alert(AlertSubscription(name="complaints", categories=["*"], url=receiver.url, secret=SECRET),
                    tenant="acme")
    store.create_call(tenant="acme", call_id=real_call.call_id, agent_id="ann")
    # What the orchestrator does when a call finishes: assess (and enqueue), then store it finished.
    assess_finished_call(store, real_call, tenant="acme")
    store.save_analysis(real_call, tenant="acme", status=CallStatus.COMPLETED)
    assert asyncio.run(AlertDispatcher(store, AlertSettings(), worker_id="w").dispatch_once())
    [got] = receiver.wait_for(1)
    assert verify_like_the_readme(SECRET, got.body, got.headers[SIGNATURE_HEADER])
    body = json.loads(got.body)
    assert body["category"] == {"name": "complaint-about-wizard", "category_set": "qa", "set_version": 1,
                                "description": "the agent mentions a complaint about the wizard"}
    [evidence] = body["evidence"]
    assert evidence["role"] == "agent" and evidence["text"].lower().startswith("complaint")
    assert "wizard" in evidence["text"].lower()
    assert evidence["start"] == start_of(real_call, "complaint") and evidence["end"] > evidence["start"]
    assert body["call"]["id"] == real_call.call_id and body["call"]["agent_id"] == "ann"
    assert body["call"]["duration_s"] == pytest.approx(real_call.audio.duration_s)
    [delivered] = store.list_deliveries(tenant="acme", alert="complaints")
    assert (delivered.status, delivered.category) == ("delivered", "complaint-about-wizard")
    store.engine.dispose()
