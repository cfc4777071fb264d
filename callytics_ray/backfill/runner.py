"""The driver of backfill jobs: claim a job, keep its lease, hand its pending chunks to an
executor, store each computed chunk, finish it; and resume jobs whose driver died."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Protocol

from callytics_ray.backfill.work import AnalysisReader, BackfillPlan, compute_chunk, load_plan
from callytics_ray.judgement import ItemJudge
from callytics_ray.storage import CallStore
from callytics_ray.storage.backfills import AUDIO_KINDS, BackfillRecord, ChunkResult, ChunkWork

logger = logging.getLogger(__name__)

StoreChunk = Callable[[ChunkResult], bool]


class ChunkExecutor(Protocol):
    """Computes a job's chunks somewhere (threads, Ray actors) and hands each result back."""

    name: str

    def run(self, plan: BackfillPlan, chunks: list[ChunkWork], store_chunk: StoreChunk) -> None:
        """Compute every chunk and call `store_chunk` with each result, in this thread, as it is
        ready (any order); stop early when it returns False."""
        ...


class ThreadChunkExecutor:
    """Chunks computed by a pool of threads in this process (the gateway without Ray).

    Assessing is pure Python, so threads share one core through the GIL: this is the fallback,
    not the way to go fast (bench/backfill.py measures both).
    """

    name = "threads"

    def __init__(self, reader: AnalysisReader, *, workers: int, judge: ItemJudge | None = None) -> None:
        self.reader = reader
        self.workers = workers
        self.judge = judge

    def run(self, plan: BackfillPlan, chunks: list[ChunkWork], store_chunk: StoreChunk) -> None:
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="backfill") as pool:
            futures = [pool.submit(compute_chunk, self.reader, plan, chunk, self.judge) for chunk in chunks]
            try:
                for future in as_completed(futures):
                    if not store_chunk(future.result()):
                        break
            finally:
                for future in futures:
                    future.cancel()


def make_driver_id() -> str:
    return f"backfill:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class BackfillRunner:
    """Drives backfill jobs, each in a background thread of this process.

    Writes (claiming, each chunk, finishing) go through `store`, so on Serve they reach the
    database service like every other write; where chunks are computed is the executor's choice.

    Args:
        store: the database of calls and jobs.
        executor: computes the assessing kinds' chunks (`ThreadChunkExecutor`, or Ray actors on Serve).
        audio_executor: computes the chunks of the kinds that run stored audio through the stages
            (`reanalyze`, `redact_audio`: `backfill.audio.PipelineChunkExecutor`); None: this
            runner does not drive those jobs (it leaves them to one that does).
        lease_s: a driver that stops renewing for this long is taken for dead and its job resumed.
        driver_id: this runner's name in leases (unique per process by default).

    Example:
        >>> runner = BackfillRunner(store, ThreadChunkExecutor(store, workers=2), lease_s=60)
        >>> runner.submit(job.id)        # returns at once; GET the job for progress
        >>> runner.resume_orphans()      # jobs whose driver died (the reconciler calls this)
    """

    def __init__(self, store: CallStore, executor: ChunkExecutor, *, lease_s: float,
                 driver_id: str | None = None, audio_executor: ChunkExecutor | None = None) -> None:
        self.store = store
        self.executor = executor
        self.audio_executor = audio_executor
        self.lease_s = lease_s
        self.driver_id = driver_id or make_driver_id()
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()

    def executor_for(self, kind: str) -> ChunkExecutor | None:
        """Who computes the chunks of a job of `kind` here (None: no one)."""
        return self.audio_executor if kind in AUDIO_KINDS else self.executor

    @property
    def active_jobs(self) -> frozenset[str]:
        with self._lock:
            return frozenset(j for j, t in self._threads.items() if t.is_alive())

    def submit(self, backfill_id: str) -> bool:
        """Drive the job in a background thread; False when this runner already drives it or is closing."""
        with self._lock:
            running = self._threads.get(backfill_id)
            if self._closing.is_set() or (running is not None and running.is_alive()):
                return False
            thread = threading.Thread(target=self._drive_logged, args=(backfill_id,), daemon=True,
                                      name=f"backfill-{backfill_id[:8]}")
            self._threads[backfill_id] = thread
        thread.start()
        return True

    def resume_orphans(self) -> list[str]:
        """Submit every queued or running job no live driver holds (its lease lapsed or was given up)."""
        resumed = [j for j in self.store.resumable_backfills() if self.submit(j)]
        if resumed:
            logger.info("backfill jobs resumed or started: %s", ", ".join(resumed))
        return resumed

    def wait(self, timeout_s: float) -> bool:
        """Wait until no job is driven here (or `timeout_s` passed); whether none is."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not self.active_jobs

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop after the chunks in flight, give the leases up (so the next start resumes at
        once) and close the executor when it has a `close()` (Ray actors)."""
        self._closing.set()
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout_s)
        for executor in (self.executor, self.audio_executor):
            close = getattr(executor, "close", None)
            if close is not None:
                close()

    def _drive_logged(self, backfill_id: str) -> None:
        try:
            self.drive(backfill_id)
        except Exception:
            logger.exception("backfill %s: the driver failed", backfill_id)

    def drive(self, backfill_id: str) -> BackfillRecord | None:
        """Run the job here until it is done, cancelled, failed or this runner closes.

        Returns:
            the job as it ended, or None when another driver holds it or it is finished.
        """
        executor = self.executor_for(self.store.get_backfill(backfill_id).kind)
        if executor is None:
            logger.warning("backfill %s: this process runs no pipeline stages; left to a driver that does", backfill_id)
            return None
        if not self.store.claim_backfill(backfill_id, self.driver_id, self.lease_s, executor=executor.name):
            return None
        lost = threading.Event()
        renewer = threading.Thread(target=self._keep_lease, args=(backfill_id, lost), daemon=True,
                                   name=f"backfill-lease-{backfill_id[:8]}")
        renewer.start()

        def store_chunk(result: ChunkResult) -> bool:
            if lost.is_set() or self._closing.is_set():
                return False
            stored = self.store.store_backfill_chunk(result, worker_id=self.driver_id, lease_s=self.lease_s)
            if not stored:
                lost.set()  # cancelled or taken over: stop computing
            return stored

        try:
            job = self.store.get_backfill(backfill_id)
            chunks = self.store.pending_backfill_chunks(backfill_id)
            logger.info("backfill %s: run %d on %s, %d of %d chunk(s) pending", backfill_id, job.runs,
                        executor.name, len(chunks), job.chunks)
            executor.run(load_plan(self.store, job), chunks, store_chunk)
        except Exception as err:
            lost.set()
            logger.exception("backfill %s failed", backfill_id)
            return self.store.end_backfill(backfill_id, self.driver_id, error=f"{type(err).__name__}: {err}")
        finally:
            lost.set()
            renewer.join()
        if self._closing.is_set():
            self.store.release_backfill(backfill_id, self.driver_id)
            return self.store.get_backfill(backfill_id)
        ended = self.store.end_backfill(backfill_id, self.driver_id)
        logger.info("backfill %s: %s, %d done, %d failed of %d", backfill_id, ended.status, ended.done,
                    ended.failed, ended.total)
        return ended

    def _keep_lease(self, backfill_id: str, lost: threading.Event) -> None:
        # Chunks renew the lease as they are stored; this covers a slow start (Ray actors) and
        # notices a cancel while a chunk is computing.
        while not lost.wait(self.lease_s / 3):
            try:
                if not self.store.renew_backfill(backfill_id, self.driver_id, self.lease_s):
                    lost.set()
            except Exception:  # a database hiccup: try again next period; the lease covers it
                logger.exception("backfill %s: renewing the lease failed", backfill_id)
