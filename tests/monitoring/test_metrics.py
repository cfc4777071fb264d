"""deployments/metrics.py without a cluster: the names Prometheus will see, the call status and
backlog bookkeeping of the gateway hook, the cost estimate. (Recorded values reaching Prometheus
are checked against a live cluster in test_prometheus.py.)"""

from __future__ import annotations

import re

import pytest

from callytics_ray.pipeline.orchestrator import REQUIRED_STAGES
from callytics_ray.pipeline.request import CallRequest
from callytics_ray.settings import LLMPrice, Settings
from deployments.metrics import METRICS, StageMetrics, call_status, exported_names


def test_metric_names_are_valid_and_exported_with_ray_prefix_and_counter_suffix():
    for spec in METRICS:
        assert re.fullmatch(r"callytics_[a-z_]+", spec.name), spec.name
        assert not spec.name.endswith("_total"), "Ray adds _total to counters itself"
        assert all(key not in ("deployment", "replica", "application") for key in spec.tag_keys), "Serve adds these"
    assert "ray_callytics_calls_finished_total" in exported_names()
    assert "ray_callytics_stage_latency_seconds_bucket" in exported_names()
    assert "ray_callytics_backlog_calls" in exported_names()


@pytest.mark.parametrize(("event", "failed", "status"), [
    ("done", [], "completed"),
    ("done", ["llm"], "partial"),
    ("done", [next(iter(REQUIRED_STAGES))], "failed"),
    ("failed", [], "failed"),
    ("cancelled", ["asr"], "cancelled"),
])
def test_call_status_follows_the_orchestrator(event, failed, status):
    assert call_status(event, failed) == status


def test_gateway_hook_tracks_queued_and_running_calls():
    hook = StageMetrics()
    first, second = (CallRequest(call_id=f"c{i}", source=b"", variant="base") for i in range(2))
    hook(first, "call", "start", 0.0)
    hook(second, "call", "start", 0.0)
    assert hook.backlog == {"queued": 2, "running": 0}
    hook(first, "audio", "start", 0.0)
    assert hook.backlog == {"queued": 1, "running": 1}
    hook(first, "audio", "done", 1.0)
    hook(first, "call", "done", 1.5)
    hook(second, "audio", "start", 0.0)
    hook(second, "audio", "failed", 0.2)
    assert hook.backlog == {"queued": 0, "running": 1}
    hook(second, "call", "done", 0.3)
    assert hook.backlog == {"queued": 0, "running": 0}


def test_llm_cost_from_the_settings_price_table():
    price = Settings(_env_file=None).monitoring.llm_prices["gpt-4o-mini"]
    assert price.cost_usd(1_000_000, 0) == pytest.approx(0.15)
    assert LLMPrice(prompt_usd_per_mtok=2.5, completion_usd_per_mtok=10).cost_usd(2000, 500) == pytest.approx(0.01)
