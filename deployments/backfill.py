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
import threading

import ray
import ray.exceptions
from ray.actor import ActorHandle
from ray.util import ActorPool

from callytics_ray.backfill import BackfillPlan, compute_chunk
from callytics_ray.backfill.runner import StoreChunk
from callytics_ray.pipeline.assessment import item_judge
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore, make_engine
from callytics_ray.storage.backfills import ChunkResult, ChunkWork

logger = logging.getLogger("ray.serve")


class BackfillWorker:
    """One Ray actor: reads chunks' analyses on its own read-only engine and assesses them (with
    `settings.llm.base_url`, its own LLM judge answers the rubrics' llm items)."""

    def __init__(self, database_url: str, settings: Settings | None = None) -> None:
        self.reader = CallStore(make_engine(database_url, read_only=True))
        self.judge = item_judge(settings) if settings is not None else None

    def compute(self, plan: BackfillPlan, chunk: ChunkWork) -> ChunkResult:
        return compute_chunk(self.reader, plan, chunk, self.judge)


class RayChunkExecutor:
    """`ChunkExecutor` on the Ray cluster this process is connected to (a Serve replica is).

    The worker actors outlive a job by `keep_s`: starting one is a new process importing the
    core (seconds; tens of seconds on a loaded machine), so a rubric change soon after another,
    or a resumed job, finds them warm; idle longer, they are ended and their CPUs freed.
    Jobs running at once share the actors (each actor takes one chunk at a time).

    Args:
        database_url: the database the workers read (a SQLite file or PostgreSQL).
        workers: actors (a job uses at most one per chunk).
        num_cpus: logical CPUs each actor reserves.
        keep_s: how long idle actors are kept after the last job.
        settings: what the workers build their LLM judge from (None: llm items not assessed).

    Example:
        >>> runner = BackfillRunner(store, RayChunkExecutor(url, workers=4, num_cpus=0.5), lease_s=60)
        >>> runner.drive(job.id).status
        'done'
    """

    name = "ray"

    def __init__(self, database_url: str, *, workers: int, num_cpus: float, keep_s: float = 300.0,
                 settings: Settings | None = None) -> None:
        self.database_url = database_url
        self.settings = settings
        self.workers = workers
        self.num_cpus = num_cpus
        self.keep_s = keep_s
        self._actors: list[ActorHandle] = []
        self._running = 0
        self._idle_timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def run(self, plan: BackfillPlan, chunks: list[ChunkWork], store_chunk: StoreChunk) -> None:
        if not chunks:
            return
        actors = self._acquire(min(self.workers, len(chunks)))
        plan_ref = ray.put(plan)  # shipped to the object store once, not with every chunk
        try:
            pool = ActorPool(actors)
            for result in pool.map_unordered(lambda a, chunk: a.compute.remote(plan_ref, chunk), chunks):
                if not store_chunk(result):
                    # Stopped early (cancelled, lease lost): the chunks still queued on the
                    # actors would keep them busy for nothing, so these actors go.
                    self._discard(actors)
                    break
        except ray.exceptions.RayActorError:
            self._discard(actors)  # a dead actor is not handed to the next job
            raise
        finally:
            self._release()

    def close(self) -> None:
        """End the actors now."""
        with self._lock:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            actors, self._actors = self._actors, []
        _kill(actors)

    def _acquire(self, count: int) -> list[ActorHandle]:
        with self._lock:
            self._running += 1
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
            actor = ray.remote(BackfillWorker).options(num_cpus=self.num_cpus)
            self._actors += [actor.remote(self.database_url, self.settings) for _ in range(count - len(self._actors))]
            return self._actors[:count]

    def _release(self) -> None:
        with self._lock:
            self._running -= 1
            if self._running == 0 and self._actors:
                self._idle_timer = threading.Timer(self.keep_s, self.close)
                self._idle_timer.daemon = True
                self._idle_timer.start()

    def _discard(self, actors: list[ActorHandle]) -> None:
        with self._lock:
            self._actors = [a for a in self._actors if a not in actors]
        _kill(actors)


def _kill(actors: list[ActorHandle]) -> None:
    for actor in actors:
        ray.kill(actor)
