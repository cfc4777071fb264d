"""Backfills: re-applying rubrics and category sets to a tenant's stored calls as a resumable job.

Ray-free. A job's calls are fixed in chunks when it is created (`CallStore.create_backfill`); a
driver (`BackfillRunner`) claims it, hands the pending chunks to a `ChunkExecutor` (threads here,
Ray actors in `deployments/backfill.py`) that computes each one (`compute_chunk`), and stores each
computed chunk in one transaction. A job whose driver died is resumed from its pending chunks.

Example:
    >>> spec = resolve_spec(store, tenant="acme", kind="rescore", rubric=ConfigSelector(name="qa"))
    >>> job = store.create_backfill(spec, tenant="acme", chunk_size=50)
    >>> BackfillRunner(store, ThreadChunkExecutor(store, workers=2), lease_s=60).drive(job.id).status
    'done'
"""

from callytics_ray.backfill.runner import BackfillRunner, ChunkExecutor, ThreadChunkExecutor
from callytics_ray.backfill.work import BackfillPlan, ConfigSelector, compute_chunk, load_plan, resolve_spec, run_chunk

__all__ = [
    "BackfillPlan", "BackfillRunner", "ChunkExecutor", "ConfigSelector", "ThreadChunkExecutor", "compute_chunk",
    "load_plan", "resolve_spec", "run_chunk",
]
