"""`callytics backfill` as a user runs it: a real subprocess over a real SQLite file of stored calls."""

from __future__ import annotations

import json
import os

from bench.stored_calls import store_copies, wizard_rubric
from callytics_ray.storage import CallStore
from tests.cli.test_cli import run


def test_start_a_backfill_follow_it_and_look_it_up(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = CallStore.from_url(url)
    store_copies(store, 12)
    store.put_rubric(wizard_rubric("dragon"), tenant="acme")
    env = {**os.environ, "CALLYTICS_DATABASE_URL": url}

    done = run(["backfill", "start", "--tenant", "acme", "--rubric", "qa:1", "--chunk-size", "5",
                "--since", "2026-11-01T09:05:00+00:00"], env)

    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert (job["status"], job["total"], job["done"], job["chunks"]) == ("done", 7, 7, 2), job
    assert "7/7 (0 failed)" in done.stderr
    assert store.get_assessment("call-00011").scorecards[0].rubric_version == 1
    listed = run(["backfill", "status", "--tenant", "acme"], env)
    assert listed.returncode == 0 and job["id"] in listed.stdout and "7/7" in listed.stdout
    again = run(["backfill", "resume", job["id"]], env)
    assert again.returncode == 1 and "is done: nothing to resume" in again.stderr


def test_a_redact_audio_backfill_from_the_command_line(tmp_path, stereo_call_path):
    from callytics_ray.storage.tables import CallAudio
    from sqlmodel import Session

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = CallStore.from_url(url)
    ids = store_copies(store, 3)
    audio = stereo_call_path.read_bytes()
    with Session(store.engine) as session:  # their recordings; the stored analyses found no PII
        session.add_all(CallAudio(call_id=i, filename="stereo.wav", content_type="audio/wav", size_bytes=len(audio),
                                  data=audio) for i in ids[:2])
        session.commit()
    env = {**os.environ, "CALLYTICS_DATABASE_URL": url, "CALLYTICS_CACHE_DIR": str(tmp_path / "models")}

    done = run(["backfill", "start", "--tenant", "acme", "--kind", "redact_audio"], env)

    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert (job["kind"], job["status"], job["total"], job["done"], job["failed"], job["chunks"]) == (
        "redact_audio", "done", 3, 2, 1, 1), job
    assert job["executor"] == "pipeline"
    assert [store.recording_info(i).redacted.state for i in ids[:2]] == ["identical", "identical"]
    outcome = store.backfill_outcomes(job["id"])[2]
    assert outcome.call_id == ids[2] and "has no stored audio" in outcome.error
