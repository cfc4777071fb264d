"""Redacted copies and the retention sweep of originals, on a real SQLite file and a real
PostgreSQL server (calls are backdated by setting `created_at` in the past)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text, update

from callytics_ray.api.retention import RetentionSweep
from callytics_ray.errors import NotFoundError
from callytics_ray.pipeline.redacted_audio import identical
from callytics_ray.settings import Settings
from callytics_ray.storage import CallStatus, CallStore
from callytics_ray.storage.models import AudioRedaction, RedactedSpan
from callytics_ray.storage.tables import Call
from tests.storage.test_store import store  # noqa: F401  (the SQLite / PostgreSQL fixture)

NOW = datetime.now(timezone.utc)


def _call(store: CallStore, name: str, *, status: str, age_days: float, audio: bytes | None = None) -> str:
    record, _ = store.create_call(tenant="acme", call_id=name, source_name=f"{name}.wav",
                                  audio=audio or f"RIFF-{name}".encode(), content_type="audio/wav")
    store.set_status(name, status)
    with store.engine.begin() as conn:
        conn.execute(update(Call).where(Call.id == name).values(created_at=NOW - timedelta(days=age_days)))
    return record.id


def _redacted(data: bytes) -> AudioRedaction:
    return AudioRedaction(state="redacted", created_at=NOW, mode="bleep", tone_hz=1000.0, pad_s=0.3,
                          spans=[RedactedSpan(type="card", segment=2, start_s=6.6, end_s=12.3)],
                          content_type="audio/flac", size_bytes=len(data))


def test_the_sweep_deletes_only_finished_calls_past_retention(store):
    old_done = _call(store, "old-done", status=CallStatus.COMPLETED, age_days=40)
    store.save_audio_redaction(old_done, identical())
    old_partial = _call(store, "old-partial", status=CallStatus.PARTIAL, age_days=35)
    store.save_audio_redaction(old_partial, _redacted(b"fLaC-copy"), b"fLaC-copy")
    kept = {
        "old-queued": _call(store, "old-queued", status=CallStatus.QUEUED, age_days=50),
        "old-processing": _call(store, "old-processing", status=CallStatus.PROCESSING, age_days=50),
        "recent": _call(store, "recent", status=CallStatus.COMPLETED, age_days=3),
    }
    # A finished call a worker holds (a retry claiming it right now) keeps its original too.
    leased = _call(store, "old-leased", status=CallStatus.FAILED, age_days=60)
    with store.engine.begin() as conn:
        conn.execute(update(Call).where(Call.id == leased).values(claimed_by="worker-1", lease_until=1e12))
    kept["old-leased"] = leased

    sweep = RetentionSweep(store, retention_days=30)
    assert sorted(asyncio.run(sweep.sweep_once())) == ["old-done", "old-partial"]
    assert asyncio.run(sweep.sweep_once()) == []  # nothing left to delete

    for call_id in (old_done, old_partial):
        with pytest.raises(NotFoundError, match="deleted by retention"):
            store.get_audio(call_id)
        info = store.recording_info(call_id, tenant="acme")
        assert info.original == "deleted"
        assert NOW - timedelta(minutes=5) < info.original_deleted_at <= datetime.now(timezone.utc)
    # Without PII the original was the copy: its bytes moved into the copy, which still serves.
    assert store.get_redacted_audio_media(old_done)[0] == b"RIFF-old-done"
    assert store.recording_info(old_done).redacted.state == "identical"
    data, content_type, _ = store.get_redacted_audio_media(old_partial, tenant="acme")
    assert (data, content_type) == (b"fLaC-copy", "audio/flac")
    assert store.recording_info(old_partial).redacted.spans[0].type == "card"
    for call_id in kept.values():
        assert store.get_audio(call_id)[0] == f"RIFF-{call_id}".encode()
        assert store.recording_info(call_id).original == "stored"


def test_the_sweep_takes_a_batch_at_a_time_oldest_first(store):
    for age in (31, 45, 60):
        _call(store, f"c-{age}", status=CallStatus.COMPLETED, age_days=age)
    assert store.delete_expired_originals(created_before=NOW - timedelta(days=30), limit=2) == ["c-60", "c-45"]
    assert store.delete_expired_originals(created_before=NOW - timedelta(days=30), limit=2) == ["c-31"]


def test_retention_is_off_unless_set_and_a_deleted_call_takes_its_copy_along(store):
    assert RetentionSweep.from_settings(Settings(_env_file=None), store) is None
    configured = Settings(_env_file=None, storage={"original_audio_retention_days": 7})
    assert RetentionSweep.from_settings(configured, store).retention_days == 7
    call_id = _call(store, "c-1", status=CallStatus.COMPLETED, age_days=1)
    store.save_audio_redaction(call_id, _redacted(b"fLaC"), b"fLaC")
    store.delete_call(call_id, tenant="acme")
    with pytest.raises(NotFoundError):
        store.recording_info(call_id)
    with store.engine.connect() as conn:  # nothing of its recordings is left behind
        assert conn.execute(text("SELECT count(*) FROM call_audio_redacted")).scalar() == 0
