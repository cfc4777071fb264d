"""`callytics backfill start|status|resume`: backfill jobs from the command line, driven in this
process by a thread pool (the Serve app runs them on its Ray cluster instead)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import get_args

from callytics_ray.backfill.runner import BackfillRunner, ChunkExecutor, ThreadChunkExecutor
from callytics_ray.backfill.work import ConfigSelector, resolve_spec
from callytics_ray.pipeline.assessment import item_judge
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStore
from callytics_ray.storage.backfills import AUDIO_KINDS, BackfillFilter, BackfillKind, BackfillRecord
from callytics_ray.storage.tables import BackfillStatus

StoreFor = Callable[[argparse.Namespace], tuple[CallStore, Settings]]
PipelineFor = Callable[[CallStore, Settings], ChunkExecutor]
"""The executor of the audio kinds over in-process stages (the CLI builds `PipelineChunkExecutor`)."""


def add_commands(sub: argparse._SubParsersAction, store_for: StoreFor, when: Callable[[str], datetime],
                 pipeline_for: PipelineFor) -> None:
    """Register `backfill start|status|resume`; `store_for(args)` gives (store, settings)."""
    backfill = sub.add_parser("backfill", help="re-score, re-categorise or re-analyse stored calls").add_subparsers(
        dest="backfill_command", required=True)
    start = backfill.add_parser("start", help="create a job and run it here, printing its progress")
    start.add_argument("--tenant", required=True)
    start.add_argument("--kind", choices=get_args(BackfillKind), default="rescore",
                       help="reanalyze: the stored recordings through the stages again; redact_audio: the "
                            "redacted recording of calls that have none")
    start.add_argument("--variant", help="reanalyze: the A/B variant whose recognizer runs the calls")
    start.add_argument("--asr-model", help="reanalyze: the model of one of the recognizers (asr.model or a "
                                           "variant's asr_model)")
    start.add_argument("--rubric", type=_selector, help="NAME or NAME:VERSION (default: every rubric in force)")
    start.add_argument("--category-set", type=_selector, help="NAME or NAME:VERSION (default: every set in force)")
    start.add_argument("--since", type=when, help="calls created at or after (ISO)")
    start.add_argument("--until", type=when, help="calls created before (ISO)")
    start.add_argument("--agent-id")
    start.add_argument("--language")
    start.add_argument("--chunk-size", type=int)
    start.add_argument("--workers", type=int, help="threads computing chunks (default: backfill.workers)")
    start.set_defaults(func=lambda args: _start(args, *store_for(args), pipeline_for))
    status = backfill.add_parser("status", help="one job (JSON), or a tenant's jobs")
    status.add_argument("job_id", nargs="?")
    status.add_argument("--tenant")
    status.set_defaults(func=lambda args: _status(args, store_for(args)[0]))
    resume = backfill.add_parser("resume", help="run a job whose driver is gone (its lease lapsed) here")
    resume.add_argument("job_id")
    resume.add_argument("--workers", type=int)
    resume.set_defaults(func=lambda args: _resume(args, *store_for(args), pipeline_for))


def _selector(value: str) -> ConfigSelector:
    name, _, version = value.partition(":")
    try:
        return ConfigSelector(name=name, version=int(version) if version else None)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected NAME or NAME:VERSION, got {value!r}") from err


def _start(args: argparse.Namespace, store: CallStore, settings: Settings, pipeline_for: PipelineFor) -> int:
    spec = resolve_spec(store, tenant=args.tenant, kind=args.kind, rubric=args.rubric, category_set=args.category_set,
                        filter=BackfillFilter(created_after=args.since, created_before=args.until,
                                              agent_id=args.agent_id, language=args.language),
                        reason="callytics backfill start", settings=settings, variant=args.variant,
                        asr_model=args.asr_model)
    default_size = settings.backfill.audio_chunk_size if args.kind in AUDIO_KINDS else settings.backfill.chunk_size
    job = store.create_backfill(spec, tenant=args.tenant, chunk_size=args.chunk_size or default_size)
    print(f"backfill {job.id}: {job.total} calls in {job.chunks} chunks", file=sys.stderr)
    return _follow(store, settings, job, args.workers, pipeline_for)


def _resume(args: argparse.Namespace, store: CallStore, settings: Settings, pipeline_for: PipelineFor) -> int:
    job = store.get_backfill(args.job_id)
    if job.status not in BackfillStatus.ACTIVE:
        print(f"backfill {job.id} is {job.status}: nothing to resume", file=sys.stderr)
        return 1
    return _follow(store, settings, job, args.workers, pipeline_for)


def _follow(store: CallStore, settings: Settings, job: BackfillRecord, workers: int | None,
            pipeline_for: PipelineFor) -> int:
    """Drive the job in a background thread and print its progress until it ends; Ctrl-C stops
    after the chunks in flight and leaves it to be resumed."""
    job_id = job.id
    # Models load only for a job that runs the stages.
    pipeline = pipeline_for(store, settings) if job.kind in AUDIO_KINDS else None
    executor = ThreadChunkExecutor(store, workers=workers or settings.backfill.workers, judge=item_judge(settings))
    runner = BackfillRunner(store, executor, lease_s=settings.backfill.lease_s, audio_executor=pipeline)
    if not runner.submit(job_id):
        return 1
    try:
        while runner.active_jobs:
            time.sleep(1.0)
            _progress(store.get_backfill(job_id))
    except KeyboardInterrupt:
        runner.close()
        print(f"stopped; `callytics backfill resume {job_id}` goes on from here", file=sys.stderr)
        return 130
    job = store.get_backfill(job_id)
    _progress(job)
    print(job.model_dump_json(indent=2))
    return 0 if job.status == BackfillStatus.DONE else 1


def _progress(job: BackfillRecord) -> None:
    rate = f", {job.calls_per_s:.1f} calls/s" if job.calls_per_s else ""
    print(f"  {job.status:<9} {job.processed}/{job.total} ({job.failed} failed){rate}", file=sys.stderr)


def _status(args: argparse.Namespace, store: CallStore) -> int:
    if args.job_id:
        print(store.get_backfill(args.job_id, tenant=args.tenant).model_dump_json(indent=2))
        return 0
    if not args.tenant:
        raise ValueError("give a job id, or --tenant to list its jobs")
    for job in store.list_backfills(tenant=args.tenant):
        print(f"{job.id}  {job.created_at:%Y-%m-%d %H:%M}  {job.kind:<12} {job.status:<9} "
              f"{job.processed}/{job.total}  {job.reason or ''}")
    return 0
