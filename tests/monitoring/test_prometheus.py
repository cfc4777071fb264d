"""A real Prometheus scrapes a real Ray cluster running the CPU profile, after real calls.

The custom metrics must arrive through Ray's exporter with the values the calls imply, the alert
rules must evaluate cleanly on live data, and every metric the dashboard or the alerts name must
be one the cluster exports (or one only exported under conditions a CPU box cannot meet, listed
below with the reason).
"""

from __future__ import annotations

import copy
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from deployments.local_cluster import LocalCluster, free_port
from deployments.metrics import exported_names
from tests.monitoring.prometheus_server import PrometheusServer
from tests.monitoring.promql import ALERTS, used_metric_names
from tests.nlp.llm_server import ChatServer, answer_from_transcript
from tests.serve.conftest import APP, TEST_CPUS, DeployedApp, profile_for_tests, short_temp_dir, upload

pytestmark = [pytest.mark.serve, pytest.mark.models, pytest.mark.slow]

# Ray's own metrics the dashboard and alerts use that a CPU-only test cluster does not export.
EXPORTED_ONLY_WHEN = {
    "ray_node_gpus_utilization": "the node has a GPU",
    "ray_node_gram_used": "the node has a GPU",
    "ray_serve_deployment_error_counter_total": "a replica method raised (our stages return failures as data)",
}


EXPECTED_SERIES = (
    'ray_callytics_calls_finished_total{status="failed"}',  # gateway
    'ray_callytics_audio_seconds_total{stage="audio"}',  # audio-processor
    'ray_callytics_stage_errors_total{stage="audio"}',
    'ray_callytics_audio_seconds_total{stage="asr"}',  # speech-recognizer
    'ray_callytics_llm_tokens_total{kind="completion"}',  # llm-analyzer
    'ray_serve_num_http_error_requests_total{error_code="401"}',  # the HTTP proxy
)


@pytest.fixture(scope="module")
def chat() -> Iterator[ChatServer]:
    """A real local OpenAI-protocol server standing in for the LLM endpoint (reports token usage)."""
    server = ChatServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def monitored_app(model_cache: Path, chat: ChatServer, tmp_path_factory) -> Iterator[DeployedApp]:
    """The CPU profile on its own cluster, its LLM analyzer pointed at `chat` (the Serve tests'
    session cluster is not visible from this directory; this one stops when the module ends)."""
    work = tmp_path_factory.mktemp("monitoring")
    cluster = LocalCluster(temp_dir=short_temp_dir("cmon-"), num_cpus=TEST_CPUS).start()
    try:
        http_port = free_port()
        database_url = f"sqlite:///{work / 'callytics.db'}"
        config = profile_for_tests(http_port=http_port, database_url=database_url, cache_dir=model_cache)
        settings = next(a for a in config["applications"] if a["name"] == APP)["args"]["settings"]
        settings["llm"] = {"base_url": chat.base_url, "model": "gpt-4o-mini"}
        app = DeployedApp(cluster, config, work / "config.yaml", f"http://127.0.0.1:{http_port}", database_url)
        app.deploy(copy.deepcopy(config))
        yield app
    finally:
        cluster.stop(remove_temp_dir=True)


@pytest.fixture(scope="module")
def calls(monitored_app: DeployedApp, stereo_call_path: Path, tmp_path_factory) -> dict[str, dict]:
    """One good call, one silent recording (refused by the audio stage) and one request without
    an API key (401), driven over HTTP."""
    silent = tmp_path_factory.mktemp("audio") / "silent.wav"
    sf.write(silent, np.zeros(16_000 * 4, dtype=np.float32), 16_000)
    key = monitored_app.api_key("submit", "read")
    with monitored_app.client(key) as client:
        good, refused = upload(client, stereo_call_path), upload(client, silent)
    with monitored_app.client(None) as client:
        assert client.get("/v1/calls").status_code == 401
    assert good.status_code == 200 and good.json()["status"] == "completed", good.text
    assert refused.status_code == 200 and refused.json()["status"] == "failed", refused.text
    return {"good": good.json(), "refused": refused.json()}


@pytest.fixture(scope="module")
def prometheus(monitored_app: DeployedApp, calls, tmp_path_factory) -> Iterator[PrometheusServer]:
    target = f"127.0.0.1:{monitored_app.cluster.metrics_port}"
    with PrometheusServer(tmp_path_factory.mktemp("prometheus"), targets=[target], rule_files=[ALERTS]) as prom:
        # Each replica's core worker reports its metrics every few seconds, on its own clock:
        # wait until every replica the calls went through has reported.
        for promql in EXPECTED_SERIES:
            prom.wait_for(promql, timeout_s=120)
        yield prom


def _by(result: list[dict], *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(r["metric"].get(label, "") for label in labels): float(r["value"][1]) for r in result}


def test_custom_call_metrics_found_by_promql(prometheus: PrometheusServer, calls):
    finished = _by(prometheus.query(
        "sum by (status, failed_stage, variant) (ray_callytics_calls_finished_total)"), "status", "failed_stage", "variant")
    good_variant = calls["good"]["variant"]
    assert finished[("completed", "none", good_variant)] == 1
    assert sum(v for (status, stage, _), v in finished.items() if status == "failed" and stage == "audio") == 1
    accepted = prometheus.query("sum(ray_callytics_calls_accepted_total)")
    assert float(accepted[0]["value"][1]) == 2

    # The gateway records them: Serve labels the series with its deployment.
    (series, *_) = prometheus.query('ray_callytics_calls_finished_total{status="completed"}')
    assert series["metric"]["deployment"] == "api-gateway" and series["metric"]["application"] == APP


def test_stage_metrics_match_the_call(prometheus: PrometheusServer, calls):
    duration_s = calls["good"]["result"]["audio"]["duration_s"]
    audio = _by(prometheus.query("sum by (stage) (ray_callytics_audio_seconds_total)"), "stage")
    assert {("audio",), ("asr",)} <= audio.keys(), audio
    # Exact counters: the audio stage and the recognizer each processed the good call once.
    assert audio[("audio",)] == pytest.approx(duration_s, abs=0.01)
    assert audio[("asr",)] == pytest.approx(duration_s, abs=0.01)

    rtf = _by(prometheus.query(
        "sum by (stage) (ray_callytics_processing_seconds_total) / sum by (stage) (ray_callytics_audio_seconds_total)"), "stage")
    assert 0 < rtf[("asr",)] < 10

    errors = _by(prometheus.query("sum by (stage, reason) (ray_callytics_stage_errors_total)"), "stage", "reason")
    assert errors == {("audio", "silent_audio"): 1}

    latency = _by(prometheus.query("sum by (stage) (ray_callytics_stage_latency_seconds_count)"), "stage")
    assert latency[("audio",)] == 2 and latency[("asr",)] == 1
    batches = prometheus.query('sum(ray_callytics_batch_size_count{stage="asr"})')
    assert float(batches[0]["value"][1]) >= 1
    backlog = _by(prometheus.query("sum by (state) (ray_callytics_backlog_calls)"), "state")
    assert backlog == {("queued",): 0, ("running",): 0}


def test_llm_tokens_and_estimated_cost(prometheus: PrometheusServer, chat: ChatServer, calls):
    # The stand-in server reports usage as len(request JSON) // 4 and len(answer JSON) // 4.
    # Only the analyzer's requests: the gateway's rubric judge asks the same server too (the
    # built-in rubric has an llm item), and its requests are not the llm-analyzer's metrics.
    bodies = [r["body"] for r in chat.requests if r["path"].endswith("/chat/completions")
              and r["body"].get("response_format", {}).get("json_schema", {}).get("name") == "call_analysis"]
    assert bodies, "the good call never reached the LLM"
    prompt = sum(len(json.dumps(b)) // 4 for b in bodies)
    completion = sum(len(json.dumps(answer_from_transcript(b["messages"][1]["content"]))) // 4 for b in bodies)
    tokens = _by(prometheus.query("sum by (model, kind) (ray_callytics_llm_tokens_total)"), "model", "kind")
    assert tokens == {("gpt-4o-mini", "prompt"): prompt, ("gpt-4o-mini", "completion"): completion}
    cost = float(prometheus.query("sum(ray_callytics_llm_cost_usd_total)")[0]["value"][1])
    assert cost == pytest.approx((prompt * 0.15 + completion * 0.60) / 1e6, rel=1e-6)
    outcomes = _by(prometheus.query("sum by (outcome) (ray_callytics_llm_requests_total)"), "outcome")
    assert outcomes == {("ok",): 1}
    assert calls["good"]["result"]["analysis"]["analyzer"] == "llm"


def test_alert_rules_evaluate_on_live_data(prometheus: PrometheusServer):
    rules = _evaluated_rules(prometheus)
    assert len(rules) == 12
    unhealthy = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert not unhealthy, unhealthy
    # Two calls on a healthy app: no alert is pending or firing.
    active = [r["name"] for r in rules if r.get("state") != "inactive"]
    assert not active, active


def _evaluated_rules(prometheus: PrometheusServer, timeout_s: float = 30.0) -> list[dict]:
    """The loaded rules once each has been evaluated at least once."""
    deadline = time.monotonic() + timeout_s
    while True:
        rules = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
        if all(r["health"] != "unknown" for r in rules) or time.monotonic() > deadline:
            return rules
        time.sleep(1.0)


def test_dashboard_and_alerts_name_only_exported_metrics(monitored_app: DeployedApp, prometheus):
    """After the calls above every custom metric has been recorded, so every name the dashboard
    or an alert uses must be live, ours and Ray's, bar EXPORTED_ONLY_WHEN."""
    with urllib.request.urlopen(f"http://127.0.0.1:{monitored_app.cluster.metrics_port}/metrics", timeout=10) as r:
        exposition = r.read().decode()
    live = {m.group(1) for m in re.finditer(r"^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]", exposition, re.M)}
    missing = sorted(used_metric_names() - live - EXPORTED_ONLY_WHEN.keys())
    assert not missing, f"dashboard/alerts use metrics the cluster does not export: {missing}"
    assert exported_names() <= live, f"custom metrics never exported: {sorted(exported_names() - live)}"
    # The exceptions must at least be Ray's own families (a typo would hide here otherwise).
    assert all(name.startswith(("ray_node_", "ray_serve_")) for name in EXPORTED_ONLY_WHEN)


def test_service_discovery_file_lists_the_metrics_port(monitored_app: DeployedApp):
    """The file the production config reads names this node's exporter (at the node's IP)."""
    cluster: LocalCluster = monitored_app.cluster
    sd = json.loads((cluster.temp_dir / "prom_metrics_service_discovery.json").read_text())
    targets = [t for group in sd for t in group["targets"]]
    assert any(t.endswith(f":{cluster.metrics_port}") for t in targets), targets
