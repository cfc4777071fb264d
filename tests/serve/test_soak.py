"""Calls one after another through the Serve app (the reliability bench's soak, shorter): after a
warm-up, no replica's memory grows by more than 5%, and descriptors, threads and the object store
stay flat. The bench runs 300 calls (docs/reliability.md); this keeps the property from regressing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.reliability import make_clips, soak
from bench.serve_app import RunningApp
from tests.serve.conftest import MAX_UPLOAD_MB, DeployedApp

pytestmark = [pytest.mark.serve, pytest.mark.models, pytest.mark.slow]


def test_replicas_keep_their_memory_over_calls_one_after_another(deployed: DeployedApp, submit_key: str,
                                                                 data_dir: Path, tmp_path: Path):
    clips = [c for c in make_clips(tmp_path, data_dir) if c.stat().st_size < MAX_UPLOAD_MB * 2**20 * 0.9]
    app = RunningApp(deployed.cluster, deployed.config, deployed.base_url, submit_key)
    row = soak(app, clips, calls=40, warmup=20, max_growth=0.05, window=8)
    figures = row.figures
    assert figures["completed"] == 40 and figures["5xx"] == 0, figures
    assert figures["restarted_replicas"] == 0 and figures["replicas"] >= 8, figures
    assert row.ok, row.note  # every replica within 5%, descriptors and threads within 4, the store flat
