"""Operational routes: liveness, readiness and the A/B experiment report."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from callytics_ray.api.deps import get_store, get_variant_picker, require
from callytics_ray.api.errors import ErrorBody, error_response
from callytics_ray.api.experiments import ExperimentReport, experiment_report
from callytics_ray.api.schemas import Health
from callytics_ray.api.variants import VariantPicker
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import ApiKeyRecord

router = APIRouter()


@router.get("/healthz", response_model=Health, tags=["ops"], summary="Liveness: the process answers")
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health, tags=["ops"], responses={503: {"model": ErrorBody}},
            summary="Readiness: the database answers")
async def readyz(request: Request, store: CallStore = Depends(get_store)) -> Health | JSONResponse:
    try:
        await asyncio.to_thread(store.ping)
    except Exception as err:  # any driver error means "not ready", whatever its type
        return error_response(503, "not_ready", f"database unreachable: {type(err).__name__}: {err}")
    reconciler = request.app.state.reconciler
    return Health(status="ready", checks={"database": "ok", "reconciler": "running" if reconciler.running else "stopped"})


@router.get("/v1/experiments", response_model=ExperimentReport, response_model_exclude_none=True, tags=["experiments"],
            responses={c: {"model": ErrorBody} for c in (401, 403, 429)},
            summary="Compare the A/B speech-recognizer variants")
def experiments(
    caller: ApiKeyRecord = Depends(require("read")),
    store: CallStore = Depends(get_store),
    picker: VariantPicker | None = Depends(get_variant_picker),
) -> ExperimentReport:
    """Per variant, over the caller's calls: counts, speech-recognition latency (mean, p95), real-time
    factor, mean word confidence, and WER over calls uploaded with a `reference_transcript`."""
    return experiment_report(store, tenant=caller.tenant, weights=picker.weights() if picker else {})
