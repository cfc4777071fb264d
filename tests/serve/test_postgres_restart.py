"""The Serve app on PostgreSQL while the server stops and starts again (the reliability bench's
pg_restart phase, with fewer calls): calls submitted before, during and after the outage are all
accepted, stored once and end final; submissions during the outage get 503 database_unavailable
with Retry-After, and the client's retry after it is accepted."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from bench.reliability import make_clips, pg_restart, postgres_app_config
from bench.serve_app import RunningApp
from callytics_ray.storage import make_engine
from callytics_ray.storage.keys import create_api_key
from tests.postgres_server import OwnPostgres
from tests.serve.conftest import DeployedApp, app_config

pytestmark = [pytest.mark.serve, pytest.mark.models, pytest.mark.slow]


def test_a_postgres_restart_during_a_serve_run_loses_no_call(deployed: DeployedApp, data_dir: Path, tmp_path: Path):
    server = OwnPostgres.in_tmp()
    try:
        config = postgres_app_config(deployed.config, server.start())
        app_config(config)["args"]["settings"]["api"].update(rate_limit_per_minute=0, lease_s=20.0,
                                                              reconcile_interval_s=5.0)
        deployed.deploy(copy.deepcopy(config))
        url = app_config(config)["args"]["settings"]["database_url"]
        secret, _ = create_api_key(make_engine(url), tenant="bench", scopes=("submit", "read"))
        app = RunningApp(deployed.cluster, config, deployed.base_url, secret)
        row = pg_restart(app, server, make_clips(tmp_path, data_dir)[:4], calls=2, outage_s=12.0)
    finally:
        deployed.restore()
        server.remove()
    figures = row.figures
    assert figures["accepted"] == figures["stored"] == 6, figures
    assert figures["lost"] == figures["duplicated"] == figures["not_final"] == figures["finished_twice"] == 0, figures
    assert figures["503"] > 0 and figures["503_without_retry_after"] == 0, figures  # the outage was seen, as promised
    assert figures["other_5xx"] == 0, figures
    assert figures["completed"] == 6, figures
    assert row.ok, figures
