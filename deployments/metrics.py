"""Every custom Prometheus metric of the pipeline, and the recorders deployments feed them through.

Ray exports these with a `ray_` prefix (`callytics_calls_finished` becomes
`ray_callytics_calls_finished_total`, see `MetricSpec.exported`); inside a replica Serve adds the
`deployment`, `replica` and `application` labels. Ray's histogram `_sum` is rebuilt from bucket
midpoints (ray/_private/telemetry/open_telemetry_metric_recorder.py), so exact totals (audio seconds,
processing seconds) are separate counters: real-time factor = rate(processing) / rate(audio).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ray.serve import metrics

from callytics_ray.pipeline.stage_names import REQUIRED_STAGES
from callytics_ray.pipeline.request import CallRequest

logger = logging.getLogger("ray.serve")

LATENCY_BOUNDARIES_S = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 600, 1200)
RTF_BOUNDARIES = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
BATCH_BOUNDARIES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)

NO_VARIANT = "none"
"""The `variant` label of calls outside an A/B experiment and of stages that do not vary."""


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One custom metric: what `ray.util.metrics` registers and what Prometheus sees.

    Attributes:
        name: the name given to Ray (Prometheus adds `ray_` in front).
        kind: "counter", "gauge" or "histogram".
        tag_keys: labels every record must set (Serve adds deployment/replica/application).
        boundaries: histogram bucket upper bounds.
    """

    name: str
    kind: Literal["counter", "gauge", "histogram"]
    description: str
    tag_keys: tuple[str, ...]
    boundaries: tuple[float, ...] = ()

    @property
    def exported(self) -> tuple[str, ...]:
        """The series names Prometheus stores for this metric."""
        base = f"ray_{self.name}"
        if self.kind == "counter":
            return (f"{base}_total",)
        if self.kind == "histogram":
            return (f"{base}_bucket", f"{base}_sum", f"{base}_count")
        return (base,)

    def build(self) -> Any:
        """A Ray metric object; metrics of one name share their series within a process."""
        if self.kind == "counter":
            return metrics.Counter(self.name, description=self.description, tag_keys=self.tag_keys)
        if self.kind == "gauge":
            return metrics.Gauge(self.name, description=self.description, tag_keys=self.tag_keys)
        return metrics.Histogram(
            self.name, description=self.description, boundaries=list(self.boundaries), tag_keys=self.tag_keys
        )


METRICS: tuple[MetricSpec, ...] = (
    # Calls, recorded by the api-gateway from the orchestrator's progress events (StageMetrics).
    MetricSpec("callytics_calls_accepted", "counter",
               "Calls a gateway replica began to run (a call resumed after a crash counts again).", ("variant",)),
    MetricSpec("callytics_calls_finished", "counter",
               "Calls that ended: status completed, partial, failed or cancelled (handed back for a resume); "
               "failed_stage is the first stage that gave up, or none.", ("status", "variant", "failed_stage")),
    MetricSpec("callytics_call_latency_seconds", "histogram",
               "Wall time of a call's run, from the runner picking it up to its result being stored.",
               ("status", "variant"), LATENCY_BOUNDARIES_S),
    MetricSpec("callytics_backlog_calls", "gauge",
               "Calls a gateway replica holds: queued (waiting for a free run slot) or running.", ("state",)),
    MetricSpec("callytics_stage_latency_seconds", "histogram",
               "Wall time of one stage of a call as the orchestrator sees it (retries and hops included).",
               ("stage", "variant"), LATENCY_BOUNDARIES_S),
    MetricSpec("callytics_stage_runs", "counter",
               "Stages the orchestrator finished, by outcome: done, or failed after its retries.",
               ("stage", "outcome", "variant")),
    # Stage replicas (ReplicaMetrics): per request, with the typed reason of a failure.
    MetricSpec("callytics_stage_requests", "counter",
               "Requests a stage replica answered, by outcome (ok or failed).", ("stage", "outcome", "variant")),
    MetricSpec("callytics_stage_errors", "counter",
               "Failed stage requests by reason: the audio refusal reason or the error type.",
               ("stage", "reason", "variant")),
    MetricSpec("callytics_processing_seconds", "counter",
               "Exact replica wall time spent on requests that carried audio (numerator of the real-time factor).",
               ("stage", "variant")),
    MetricSpec("callytics_audio_seconds", "counter",
               "Seconds of recorded audio a stage processed.", ("stage", "variant")),
    MetricSpec("callytics_real_time_factor", "histogram",
               "Per request: replica wall time divided by the audio's duration (below 1 is faster than real time).",
               ("stage", "variant"), RTF_BOUNDARIES),
    MetricSpec("callytics_batch_size", "histogram",
               "Requests handed to a model together by @serve.batch.", ("stage", "variant"), BATCH_BOUNDARIES),
    # LLM analyzer (LLMMetrics).
    MetricSpec("callytics_llm_requests", "counter",
               "LLM analyses by outcome: ok, fallback (the endpoint failed, the offline analyzer stood in) "
               "or failed.", ("model", "outcome")),
    MetricSpec("callytics_llm_tokens", "counter",
               "Tokens the LLM endpoint reported (or estimated when it reports none), by kind.", ("model", "kind")),
    MetricSpec("callytics_llm_cost_usd", "counter",
               "Estimated LLM cost from settings.monitoring.llm_prices (unlisted models count 0).", ("model",)),
)

SPECS: dict[str, MetricSpec] = {spec.name: spec for spec in METRICS}


def exported_names() -> frozenset[str]:
    """Every series name the custom metrics add to Prometheus (dashboards and alerts may use these)."""
    return frozenset(name for spec in METRICS for name in spec.exported)


def _metric(name: str) -> Any:
    return SPECS[name].build()


class ReplicaMetrics:
    """What one stage replica records: requests, failure reasons, audio throughput, batch sizes.

    Example:
        >>> m = ReplicaMetrics("audio")
        >>> m.request(seconds=0.8, audio_s=30.0)
        >>> m.request(seconds=0.1, reason="silent_audio")
    """

    def __init__(self, stage: str, variant: str | None = None) -> None:
        self.stage = stage
        self.variant = variant or NO_VARIANT
        self._tags = {"stage": stage, "variant": self.variant}
        self._requests = _metric("callytics_stage_requests")
        self._errors = _metric("callytics_stage_errors")
        self._processing = _metric("callytics_processing_seconds")
        self._audio = _metric("callytics_audio_seconds")
        self._rtf = _metric("callytics_real_time_factor")
        self._batch = _metric("callytics_batch_size")

    def request(self, *, seconds: float, audio_s: float | None = None, reason: str | None = None) -> None:
        """Record one answered request.

        Args:
            seconds: the replica's wall time for it (batching wait included).
            audio_s: the duration of the audio it processed (successful requests feed the
                real-time factor with it).
            reason: why it failed (an audio refusal reason or the error type); None when it succeeded.
        """
        outcome = "ok" if reason is None else "failed"
        self._requests.inc(tags={**self._tags, "outcome": outcome})
        if reason is not None:
            self._errors.inc(tags={**self._tags, "reason": reason})
            return
        if audio_s and audio_s > 0:
            self._audio.inc(audio_s, tags=self._tags)
            if seconds > 0:
                self._processing.inc(seconds, tags=self._tags)
            self._rtf.observe(seconds / audio_s, tags=self._tags)

    def batch(self, size: int) -> None:
        """Record the size of one batch handed to the model."""
        self._batch.observe(size, tags=self._tags)


@dataclass
class _CallRun:
    """What the gateway knows about one call while it runs (from its progress events)."""

    variant: str
    started: float = field(default_factory=time.perf_counter)
    running: bool = False
    failed: list[str] = field(default_factory=list)


class StageMetrics:
    """The gateway runner's progress hook: stage latencies and outcomes, call counts and backlog.

    Called as `hook(request, stage, event, seconds)` (callytics_ray.api.runner.StageHook) on the
    replica's event loop: event "start", "done" or "failed" for a stage; stage "call" with event
    "start" when the runner picks a call up and "done", "failed" or "cancelled" when its run ends.

    Example:
        >>> runner = LocalRunner(stages, store, settings, hook=StageMetrics())
    """

    CALL = "call"

    def __init__(self) -> None:
        self._runs: dict[str, _CallRun] = {}
        self._accepted = _metric("callytics_calls_accepted")
        self._finished = _metric("callytics_calls_finished")
        self._call_latency = _metric("callytics_call_latency_seconds")
        self._backlog = _metric("callytics_backlog_calls")
        self._stage_latency = _metric("callytics_stage_latency_seconds")
        self._stage_runs = _metric("callytics_stage_runs")
        self._publish_backlog()

    def __call__(self, request: CallRequest, stage: str, event: str, seconds: float) -> None:
        try:
            self._record(request, stage, event, seconds)
        except Exception:  # metrics must never fail a call
            logger.exception("metrics: could not record %s %s of call %s", stage, event, request.call_id)

    @property
    def backlog(self) -> dict[str, int]:
        """Calls held by this replica: {"queued": n, "running": m}."""
        running = sum(1 for run in self._runs.values() if run.running)
        return {"queued": len(self._runs) - running, "running": running}

    def _record(self, request: CallRequest, stage: str, event: str, seconds: float) -> None:
        if stage == self.CALL:
            if event == "start":
                self._runs[request.call_id] = _CallRun(request.variant or NO_VARIANT)
                self._accepted.inc(tags={"variant": request.variant or NO_VARIANT})
            else:
                self._end(request, event, seconds)
            self._publish_backlog()
            return
        run = self._runs.get(request.call_id)
        if run is None:  # a runner that emits no call events: count its calls from their first stage
            run = self._runs[request.call_id] = _CallRun(request.variant or NO_VARIANT)
        tags = {"stage": stage, "variant": run.variant}
        if event == "start":
            if not run.running:
                run.running = True
                self._publish_backlog()
            return
        self._stage_latency.observe(seconds, tags=tags)
        self._stage_runs.inc(tags={**tags, "outcome": event})
        if event == "failed":
            run.failed.append(stage)

    def _end(self, request: CallRequest, event: str, seconds: float) -> None:
        run = self._runs.pop(request.call_id, None) or _CallRun(request.variant or NO_VARIANT)
        status = call_status(event, run.failed)
        self._finished.inc(
            tags={"status": status, "variant": run.variant, "failed_stage": run.failed[0] if run.failed else "none"}
        )
        self._call_latency.observe(seconds, tags={"status": status, "variant": run.variant})

    def _publish_backlog(self) -> None:
        for state, count in self.backlog.items():
            self._backlog.set(count, tags={"state": state})


def call_status(event: str, failed_stages: list[str]) -> str:
    """The final status of a run from how it ended and which stages gave up (as the orchestrator
    decides it: a required stage failing fails the call, any other makes it partial)."""
    if event == "cancelled":
        return "cancelled"
    if event == "failed" or REQUIRED_STAGES.intersection(failed_stages):
        return "failed"
    return "partial" if failed_stages else "completed"


class LLMMetrics:
    """What the llm-analyzer records per call: outcome, tokens, estimated cost.

    Args:
        prices: model name -> price (settings.monitoring.llm_prices); anything with a
            `cost_usd(prompt_tokens, completion_tokens)` method.

    Example:
        >>> m = LLMMetrics(settings.monitoring.llm_prices)
        >>> m.record(outcome)            # a callytics_ray.llm.AnalysisOutcome
        >>> m.failed("gpt-4o-mini")      # LLMError raised with the offline fallback off
    """

    def __init__(self, prices: Mapping[str, Any]) -> None:
        self._prices = dict(prices)
        self._requests = _metric("callytics_llm_requests")
        self._tokens = _metric("callytics_llm_tokens")
        self._cost = _metric("callytics_llm_cost_usd")
        self._unpriced_logged: set[str] = set()

    def record(self, outcome: Any, *, model: str | None = None) -> None:
        """Record one analysis (`AnalysisOutcome`: `.result` an AnalysisResult, `.llm_error`).

        Args:
            outcome: what the analyzer returned.
            model: the configured LLM model, for a fallback whose result names the offline method.
        """
        result = outcome.result
        if outcome.llm_error is not None:
            self._requests.inc(tags={"model": model or result.model, "outcome": "fallback"})
            return
        if result.analyzer != "llm":
            return  # no endpoint configured: nothing was asked of an LLM
        self._requests.inc(tags={"model": result.model, "outcome": "ok"})
        if result.usage is not None:
            self.tokens(result.model, result.usage.prompt_tokens, result.usage.completion_tokens)

    def failed(self, model: str) -> None:
        self._requests.inc(tags={"model": model, "outcome": "failed"})

    def tokens(self, model: str, prompt_tokens: int, completion_tokens: int) -> None:
        """Count tokens and add their estimated cost."""
        for kind, count in (("prompt", prompt_tokens), ("completion", completion_tokens)):
            if count > 0:
                self._tokens.inc(count, tags={"model": model, "kind": kind})
        price = self._prices.get(model)
        if price is None:
            if model not in self._unpriced_logged:
                self._unpriced_logged.add(model)
                logger.info("metrics: no price for LLM model %r in settings.monitoring.llm_prices; cost counts 0", model)
            return
        cost = price.cost_usd(prompt_tokens, completion_tokens)
        if cost > 0:
            self._cost.inc(cost, tags={"model": model})


__all__ = [
    "METRICS", "LLMMetrics", "MetricSpec", "ReplicaMetrics", "StageMetrics",
    "call_status", "exported_names",
]
