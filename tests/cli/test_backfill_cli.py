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
