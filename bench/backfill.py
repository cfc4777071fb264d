"""Backfill throughput: re-assessing N stored calls (copies of one real analysis) on the local Ray
cluster with 1, 2 and 4 worker actors, beside the in-process thread pool that `callytics serve`
uses; calls per second and the speedup, written to bench/RESULTS.md ("Backfill").

    PYTHONPATH=$PWD .venv/bin/python bench/backfill.py              # 1000 calls, Ray 1/2/4, threads 1/4
    PYTHONPATH=$PWD .venv/bin/python bench/backfill.py --make-analysis  # remake the real analysis (models)

Every run is one real job (`BackfillRunner.drive`) over the same stored calls: chunks of
--chunk-size calls, each computed by a worker and stored by the driver in one transaction.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from bench.report import DATA, write_section
from bench.stored_calls import REAL_ANALYSIS, store_copies
from callytics_ray.backfill import BackfillRunner, ChunkExecutor, ThreadChunkExecutor, resolve_spec
from callytics_ray.storage import CallStore
from callytics_ray.storage.tables import BackfillChunk

logger = logging.getLogger("bench.backfill")


class TimedStore(CallStore):
    """The driver's store, timing its chunk writes: the one serial part of a job (its ceiling)."""

    write_s = 0.0

    def store_backfill_chunk(self, *args, **kwargs) -> bool:
        started = time.perf_counter()
        try:
            return super().store_backfill_chunk(*args, **kwargs)
        finally:
            self.write_s += time.perf_counter() - started


@dataclass(frozen=True)
class Run:
    executor: str
    workers: int
    seconds: float
    calls: int
    steady_calls_per_s: float
    write_s: float

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.seconds


def make_analysis(out: Path) -> None:
    """Run the real pipeline (bundled models, in-process) on stereo_diarization.wav; save its analysis."""
    from callytics_ray.pipeline import analyze_file
    from callytics_ray.settings import Settings

    with tempfile.TemporaryDirectory() as work:
        settings = Settings(database_url=f"sqlite:///{work}/bench.db", _env_file=None)
        analysis = analyze_file(DATA / "stereo_diarization.wav", settings)
    out.write_text(analysis.model_dump_json(exclude_none=True, indent=1))
    logger.info("wrote %s (%d segments)", out, len(analysis.segments))


def one_job(store: TimedStore, executor: ChunkExecutor, *, chunk_size: int) -> Run:
    """Create a job re-assessing every stored call (the built-in rubric and category set, in force
    for a tenant that stored none) and drive it here; wall time from claim to done.

    `steady_calls_per_s` leaves out the start (Ray actors starting, the first chunk): the calls
    stored after the first chunk, over the time from the first chunk stored to the last.
    """
    job = store.create_backfill(resolve_spec(store, tenant="bench", kind="reassess"), tenant="bench",
                                chunk_size=chunk_size)
    runner = BackfillRunner(store, executor, lease_s=120)
    store.write_s = 0.0
    started = time.perf_counter()
    ended = runner.drive(job.id)
    seconds = time.perf_counter() - started
    assert ended is not None and ended.status == "done" and ended.done == job.total, ended
    with Session(store.engine) as session:
        stamps = sorted(session.exec(select(BackfillChunk.finished_at).where(BackfillChunk.backfill_id == job.id)).all())
    span = (stamps[-1] - stamps[0]).total_seconds()
    steady = (job.total - chunk_size) / span if span > 0 else float("nan")
    return Run(executor.name, getattr(executor, "workers", 1), seconds, job.total, steady, store.write_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--chunk-size", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4], help="Ray worker actors per run")
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 4], help="in-process thread baselines")
    parser.add_argument("--worker-cpus", type=float, default=0.5, help="logical CPUs each Ray actor reserves")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each configuration: the first cold, "
                        "the median of the others warm")
    parser.add_argument("--make-analysis", action="store_true", help=f"remake {REAL_ANALYSIS.name} and stop")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.make_analysis:
        make_analysis(REAL_ANALYSIS)
        return

    from deployments.backfill import RayChunkExecutor
    from deployments.local_cluster import LocalCluster

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="bf-", dir="/tmp"))
    url = f"sqlite:///{work / 'calls.db'}"
    store = TimedStore.from_url(url)
    store_copies(store, args.calls, tenant="bench")
    # Each Ray row's actors stay up for the later, warm runs: advertise room for all rows at once.
    cpus = max(os.cpu_count() or 1, math.ceil(sum(args.workers) * args.worker_cpus))
    cluster = LocalCluster(temp_dir=work / "ray", num_cpus=cpus).start()
    runs: dict[tuple[str, int], list[Run]] = {}
    try:
        cluster.connect_driver(log_to_driver=False)
        executors: list[ChunkExecutor] = [ThreadChunkExecutor(store, workers=n) for n in args.threads]
        executors += [RayChunkExecutor(url, workers=n, num_cpus=args.worker_cpus) for n in args.workers]
        for repeat in range(args.repeats):  # interleaved, so drift in the machine's load hits every setup
            for executor in executors:
                run = one_job(store, executor, chunk_size=args.chunk_size)
                runs.setdefault((run.executor, run.workers), []).append(run)
                logger.info("run %d: %s x%d: %.1f s, %.1f calls/s (steady %.1f)", repeat + 1, run.executor,
                            run.workers, run.seconds, run.calls_per_s, run.steady_calls_per_s)
    finally:
        import ray

        ray.shutdown()
        cluster.stop(remove_temp_dir=True)
    body = report(runs, args, cpus, load_before, os.getloadavg())
    print(body)
    if not args.no_write:
        write_section("Backfill (bench/backfill.py)", body)


def report(runs: dict[tuple[str, int], list[Run]], args: argparse.Namespace, cpus: int,
           load_before: tuple[float, float, float], load_after: tuple[float, float, float]) -> str:
    def warm(key: tuple[str, int], attr: str) -> float:
        later = runs[key][1:] or runs[key]
        return statistics.median(getattr(r, attr) for r in later)

    base = ("ray", min(args.workers)) if args.workers else None
    rows = ["| executor | workers | first run: s | first run: calls/s | warm: s | warm: calls/s | "
            "warm speedup vs Ray x1 | warm, after the first chunk: calls/s | warm: the driver writing, s |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for key, done in runs.items():
        speed = warm(key, "calls_per_s")
        ratio = f"{speed / warm(base, 'calls_per_s'):.2f}x" if base else ""
        rows.append(f"| {key[0]} | {key[1]} | {done[0].seconds:.1f} | {done[0].calls_per_s:.0f} | "
                    f"{warm(key, 'seconds'):.1f} | {speed:.0f} | {ratio} | {warm(key, 'steady_calls_per_s'):.0f} | "
                    f"{warm(key, 'write_s'):.1f} |")
    return "\n".join([
        f"One job per run: re-assess {args.calls} stored calls (copies of the real analysis of "
        f"stereo_diarization.wav, `bench/data/{REAL_ANALYSIS.name}`) on the built-in rubric and category set, chunks of {args.chunk_size} "
        f"calls, SQLite; {args.repeats} runs of each row, interleaved. Ray rows: worker actors on a local Ray "
        f"cluster advertising {cpus} logical CPUs ({args.worker_cpus} each); they read and assess, the driver "
        "stores each chunk in one transaction. Thread rows: the in-process pool of `callytics serve` (no Ray). "
        "First run: the whole job, Ray actors starting included; warm: later runs (median), the actors kept "
        "from the first (`RayChunkExecutor.keep_s`); \"after the first chunk\" leaves out the first chunk too; "
        "\"the driver writing\": time in the chunk transactions, the serial part of every job.",
        "",
        *rows,
        "",
        f"Load average (1/5/15 min) before: {' / '.join(f'{x:.2f}' for x in load_before)}; after: "
        f"{' / '.join(f'{x:.2f}' for x in load_after)} (other work on the machine slows every row alike).",
    ])


if __name__ == "__main__":
    main()
