"""In-process composition of the stages (the reference the Serve graph mirrors)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from callytics_ray.pipeline.local import LocalStages
from callytics_ray.pipeline.orchestrator import STAGES, ProgressHook, RetryPolicy, StageBackend, run_call
from callytics_ray.pipeline.request import CallRequest
from callytics_ray.pipeline.variants import VariantRouter
from callytics_ray.result import CallAnalysis
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore


def analyze_file(
    path: Path,
    settings: Settings,
    *,
    stages: LocalStages | None = None,
    store: CallStore | None = None,
    hook: ProgressHook | None = None,
    **request_fields,
) -> CallAnalysis:
    """Analyse one recording synchronously (CLI, notebooks). Stores it when `store` is given."""
    request = CallRequest(call_id=str(uuid.uuid4()), source=path, name=path.name, **request_fields)
    if store is not None:
        store.create_call(
            call_id=request.call_id, tenant=request.tenant, source_name=request.name,
            agent_id=request.agent_id, customer_id=request.customer_id, stages=STAGES,
        )
    return asyncio.run(
        run_call(
            request, stages or LocalStages(settings), settings=settings, store=store, hook=hook
        )
    )


__all__ = [
    "STAGES", "CallRequest", "LocalStages", "ProgressHook", "RetryPolicy", "StageBackend",
    "VariantRouter", "analyze_file", "run_call",
]
