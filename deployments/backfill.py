"""Backfill chunks computed on the Ray cluster: a pool of actors, one process each.

Ray Data (`from_items(chunks).map_batches(..., concurrency=N)`) would do the same, but it needs
pyarrow, which the base environment does not carry, and it buys nothing here: a chunk is already
a batch, and results must come back to one place to be written. So: `ray.util.ActorPool` over N
`BackfillWorker` actors, each with its own read-only engine (opened once, not per chunk).

Writes: workers only read (the chunk's stored analyses) and compute (the pure `compute_chunk`);
every computed chunk comes back to the driver, which stores it in one transaction through its
store. One writer per job keeps SQLite clear of "database is locked" (one writer at a time, and
the chunk write is short next to the computing), and on the Serve app the driver's store is the
gateway's `ServeCallStore`, so backfill writes go through the database-service deployment like
every other write. On PostgreSQL several writers would also be fine; one suffices (see
bench/RESULTS.md, "Backfill": the computing, not the writing, is what the workers share out).
"""

from __future__ import annotations

import logging

import ray
from ray.util import ActorPool

from callytics_ray.backfill import BackfillPlan, compute_chunk
from callytics_ray.backfill.runner import StoreChunk
from callytics_ray.storage import CallStore, make_engine
from callytics_ray.storage.backfills import ChunkResult, ChunkWork

logger = logging.getLogger("ray.serve")


class BackfillWorker:
    """One Ray actor: reads chunks' analyses on its own read-only engine and assesses them."""

    def __init__(self, database_url: str) -> None:
        self.reader = CallStore(make_engine(database_url, read_only=True))

    def compute(self, plan: BackfillPlan, chunk: ChunkWork) -> ChunkResult:
        return compute_chunk(self.reader, plan, chunk)


class RayChunkExecutor:
    """`ChunkExecutor` on the Ray cluster this process is connected to (a Serve replica is).

    Args:
        database_url: the database the workers read (a SQLite file or PostgreSQL).
        workers: actors per job (at most one per chunk).
        num_cpus: logical CPUs each actor reserves.

    Example:
        >>> runner = BackfillRunner(store, RayChunkExecutor(url, workers=4, num_cpus=0.5), lease_s=60)
        >>> runner.drive(job.id).status
        'done'
    """

    name = "ray"

    def __init__(self, database_url: str, *, workers: int, num_cpus: float) -> None:
        self.database_url = database_url
        self.workers = workers
        self.num_cpus = num_cpus

    def run(self, plan: BackfillPlan, chunks: list[ChunkWork], store_chunk: StoreChunk) -> None:
        if not chunks:
            return
        actor = ray.remote(BackfillWorker).options(num_cpus=self.num_cpus)
        actors = [actor.remote(self.database_url) for _ in range(min(self.workers, len(chunks)))]
        plan_ref = ray.put(plan)  # shipped to the object store once, not with every chunk
        try:
            pool = ActorPool(actors)
            for result in pool.map_unordered(lambda a, chunk: a.compute.remote(plan_ref, chunk), chunks):
                if not store_chunk(result):
                    break
        finally:
            # The job may stop early (cancelled, lease lost): the actors' queued chunks go with them.
            for a in actors:
                ray.kill(a)
