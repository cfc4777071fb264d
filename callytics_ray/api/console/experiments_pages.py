"""The console's experiments page: the A/B speech-recognizer variants side by side, from the report
GET /v1/experiments answers (the same route function, with the signed-in caller)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from callytics_ray.api import ops
from callytics_ray.api.console.pages import PREFIX, console_caller, templates
from callytics_ray.api.deps import get_store, get_variant_picker
from callytics_ray.api.experiments import ExperimentReport, VariantReport
from callytics_ray.api.variants import VariantPicker
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import ApiKeyRecord

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def failure_rate(variant: VariantReport) -> float | None:
    """Failed calls over the finished ones (a call still running has not failed yet)."""
    finished = variant.completed + variant.partial + variant.failed
    return variant.failed / finished if finished else None


@dataclass(frozen=True)
class VariantChart:
    """One comparison across the variants, as the JSON charts.js draws (`data`)."""

    id: str
    title: str
    data: dict[str, Any]


def _bars(labels: list[str], *series: tuple[str, list[float | None], str], **options: Any) -> dict[str, Any]:
    return {"labels": labels, "series": [{"label": name, "values": values, "color": color}
                                         for name, values, color in series], **options}


def variant_charts(report: ExperimentReport) -> list[VariantChart]:
    """Calls per variant by outcome, failure rate, confidence, speed (real-time factor, ASR
    seconds), and the word error rate when some call carried a reference transcript."""
    names = [v.variant for v in report.variants]

    def pick(field: str) -> list[Any]:
        return [getattr(v, field) for v in report.variants]

    charts = [
        VariantChart("chart-calls", "Calls per variant", _bars(
            names, ("completed", pick("completed"), "--pos"), ("partial", pick("partial"), "--spk1"),
            ("failed", pick("failed"), "--neg"), ("in progress", pick("in_progress"), "--neu"),
            stacked=True, y={"min": 0, "label": "calls", "integer": True})),
        VariantChart("chart-failure-rate", "Failure rate", _bars(
            names, ("failed / finished", [failure_rate(v) for v in report.variants], "--neg"),
            y={"min": 0, "max": 1})),
        VariantChart("chart-confidence", "Mean word confidence", _bars(
            names, ("confidence", pick("mean_word_confidence"), "--spk2"), y={"min": 0, "max": 1})),
        VariantChart("chart-rtf", "Seconds of recognition per audio second", _bars(
            names, ("real-time factor", pick("real_time_factor_mean"), "--spk3"), y={"min": 0})),
        VariantChart("chart-latency", "Speech recognition seconds per call", _bars(
            names, ("mean", pick("asr_latency_mean_s"), "--spk0"), ("p95", pick("asr_latency_p95_s"), "--spk5"),
            y={"min": 0, "label": "s"})),
    ]
    if any(v.wer is not None for v in report.variants):
        charts.append(VariantChart("chart-wer", "Word error rate", _bars(
            names, ("WER", pick("wer"), "--spk4"), y={"min": 0})))
    return charts


@router.get("/experiments", response_class=HTMLResponse)
def experiments_page(
    request: Request,
    caller: ApiKeyRecord = Depends(console_caller),
    store: CallStore = Depends(get_store),
    picker: VariantPicker | None = Depends(get_variant_picker),
) -> HTMLResponse:
    report = ops.experiments(caller=caller, store=store, picker=picker)
    ran = any(v.calls for v in report.variants)
    return templates.TemplateResponse(request, "experiments.html", {
        "caller": caller, "report": report, "ran": ran, "charts": variant_charts(report) if ran else [],
        "failure_rate": failure_rate,
    })
