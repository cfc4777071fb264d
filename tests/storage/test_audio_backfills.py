"""The audio backfill kinds without models: `redact_audio` over stored calls whose analysis found
no PII (their copy is the original, so no stage runs), resumed after its driver died, on SQLite
and PostgreSQL; a call whose original went with retention is an outcome with that reason; and
the variant or model a `reanalyze` job names is checked against the recognizers configured."""

from __future__ import annotations

import asyncio
import re
import functools
import time
from datetime import datetime, timezone

import pytest
from sqlmodel import Session, select

from callytics_ray.api.stored import load_call_request
from callytics_ray.backfill import BackfillRunner, ThreadChunkExecutor, load_plan, resolve_spec
from callytics_ray.backfill.audio import PipelineChunkExecutor, compute_audio_chunk
from callytics_ray.backfill.work import RecognizerChoiceError, resolve_recognizer
from callytics_ray.errors import NotFoundError
from callytics_ray.pipeline import LocalStages
from callytics_ray.pipeline.redacted_audio import identical
from callytics_ray.settings import AsrVariant, Settings
from callytics_ray.storage import CallStore
from callytics_ray.storage.tables import BackfillChunk, Call, CallAudio
from bench.stored_calls import store_copies
from tests.storage.test_backfills import CountingReader
from tests.storage.test_store import store  # noqa: F401  (the SQLite / PostgreSQL store fixture)


def _with_originals(store: CallStore, call_ids: list[str], audio: bytes, *, deleted: str) -> None:
    """Give the calls their recording; `deleted`'s went with retention (as `delete_expired_originals` leaves it)."""
    with Session(store.engine) as session:
        for call_id in call_ids:
            if call_id == deleted:
                call = session.get(Call, call_id)
                call.original_audio_deleted_at = datetime(2026, 11, 20, tzinfo=timezone.utc)
                session.add(call)
            else:
                session.add(CallAudio(call_id=call_id, filename="stereo.wav", content_type="audio/wav",
                                      size_bytes=len(audio), data=audio))
        session.commit()


def test_a_redact_audio_job_whose_driver_died_resumes_from_its_pending_chunks(store, stereo_call_path, tmp_path):
    audio = stereo_call_path.read_bytes()
    ids = store_copies(store, 10)
    _with_originals(store, ids, audio, deleted=ids[7])
    store.save_audio_redaction(ids[9], identical())  # has a copy already: not in the job
    job = store.create_backfill(resolve_spec(store, tenant="acme", kind="redact_audio"), tenant="acme", chunk_size=3)
    assert (job.kind, job.total, job.chunks, job.rubrics, job.category_sets) == ("redact_audio", 9, 3, [], [])

    settings = Settings(database_url="sqlite://", cache_dir=tmp_path, _env_file=None)
    # No model loads: the stored analyses found no PII, so each copy is the original itself.
    stages = LocalStages(settings)
    load = functools.partial(load_call_request, store)

    # Driver A stores the first chunk, computes the second, and dies before storing it.
    dead = "driver-a"
    assert store.claim_backfill(job.id, dead, lease_s=0.5)
    plan = load_plan(store, store.get_backfill(job.id))
    chunks = store.pending_backfill_chunks(job.id)
    first = PipelineChunkExecutor(store, stages, settings, load, concurrency=2)
    stored = asyncio.run(compute_audio_chunk(first, plan, chunks[0]))
    assert (stored.done, stored.failed) == (3, 0)
    assert store.store_backfill_chunk(stored, worker_id=dead, lease_s=0.5)
    late = asyncio.run(compute_audio_chunk(first, plan, chunks[1]))

    reader = CountingReader(store)
    successor = BackfillRunner(store, ThreadChunkExecutor(store, workers=1), lease_s=30.0,
                               audio_executor=PipelineChunkExecutor(reader, stages, settings, load, concurrency=2))
    time.sleep(0.6)
    assert successor.resume_orphans() == [job.id]
    assert successor.wait(timeout_s=60)

    ended = store.get_backfill(job.id)
    assert (ended.status, ended.done, ended.failed, ended.runs, ended.executor) == ("done", 8, 1, 2, "pipeline")
    assert sorted(reader.seen) == sorted(c for chunk in chunks[1:] for c in chunk.call_ids)
    assert not store.store_backfill_chunk(late, worker_id=dead, lease_s=0.5)  # A's late write changes nothing
    assert store.get_backfill(job.id).done == 8

    outcomes = {o.call_id: o for o in store.backfill_outcomes(job.id, tenant="acme")}
    assert list(outcomes) == ids[:9]
    assert "deleted by retention" in outcomes[ids[7]].error and outcomes[ids[7]].redacted_audio is None
    assert store.recording_info(ids[7]).redacted is None  # nothing to copy from
    for call_id in ids[:7] + ids[8:9]:
        assert (outcomes[call_id].error, outcomes[call_id].redacted_audio) == (None, "identical")
        assert store.recording_info(call_id).redacted.state == "identical"
        assert store.get_redacted_audio_media(call_id, tenant="acme")[0] == audio
    with Session(store.engine) as session:
        per_chunk = session.exec(select(BackfillChunk.done, BackfillChunk.failed)
                                 .where(BackfillChunk.backfill_id == job.id).order_by(BackfillChunk.position)).all()
    assert per_chunk == [(3, 0), (3, 0), (2, 1)]
    # The calls kept their analyses and assessments: a copy is all this kind stores.
    assert store.get_analysis(ids[0]).call_id == ids[0]
    with pytest.raises(NotFoundError, match="no scorecard"):
        store.get_assessment(ids[0])


def test_a_reanalysis_names_a_recognizer_that_is_configured():
    settings = Settings(_env_file=None).model_copy(update={"api": Settings(_env_file=None).api.model_copy(update={
        "variants": [AsrVariant(name="tiny-en", asr_model="bundled:whisper-tiny.en"), AsrVariant(name="control")]})})

    assert resolve_recognizer(settings) is None
    assert resolve_recognizer(settings, asr_model=settings.asr.model) is None
    assert resolve_recognizer(settings, asr_model="bundled:whisper-tiny.en") == "tiny-en"
    assert resolve_recognizer(settings, variant="control") == "control"
    for kwargs, field, message in (
        ({"variant": "large"}, "variant", "unknown speech-recognizer variant 'large' (known: tiny-en, control)"),
        ({"asr_model": "bundled:whisper-large"}, "asr_model", "no recognizer runs the model 'bundled:whisper-large'"),
        ({"variant": "control", "asr_model": "x"}, "asr_model", "not both"),
    ):
        with pytest.raises(RecognizerChoiceError, match=re.escape(message)) as raised:
            resolve_recognizer(settings, **kwargs)
        assert raised.value.field == field

