"""In-process composition of the stages (the reference the Serve graph mirrors)."""

from __future__ import annotations

import asyncio
import importlib
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callytics_ray.pipeline.request import CallRequest
from callytics_ray.pipeline.stage_names import STAGES

if TYPE_CHECKING:
    from callytics_ray.pipeline.local import LocalStages
    from callytics_ray.pipeline.orchestrator import ProgressHook
    from callytics_ray.result import CallAnalysis
    from callytics_ray.settings import Settings
    from callytics_ray.storage import CallStore

# Imported on first use (PEP 562): every Serve replica imports this package for the request type
# and the stage names, and only the gateway runs the orchestrator; loading every stage's
# libraries into each replica cost 30-50 MB apiece.
_LAZY = {
    "LocalStages": "local", "ProgressHook": "orchestrator", "RetryPolicy": "orchestrator",
    "StageBackend": "backend", "run_call": "orchestrator", "VariantRouter": "variants",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value  # once imported, a plain module attribute
    return value


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
    from callytics_ray.pipeline.local import LocalStages
    from callytics_ray.pipeline.orchestrator import run_call

    return asyncio.run(
        run_call(
            request, stages or LocalStages(settings), settings=settings, store=store, hook=hook
        )
    )


__all__ = [
    "STAGES", "CallRequest", "LocalStages", "ProgressHook", "RetryPolicy", "StageBackend",
    "VariantRouter", "analyze_file", "run_call",
]
