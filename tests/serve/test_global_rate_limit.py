"""The per-key rate limit holds across gateway replicas: two api-gateway replicas behind Serve's
proxy let one key through `rate_limit_per_minute` times in all, not once per replica.

Behind the slow marker: it rolls the gateway to two replicas and back (minutes on 2 cores), like
the other rollout tests.
"""

from __future__ import annotations

import copy
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.serve.conftest import RATE_LIMIT_PER_MINUTE, DeployedApp, deployment_config, replica_ids

pytestmark = [pytest.mark.serve, pytest.mark.slow]


def _replica_logs(deployed: DeployedApp, request_ids: set[str]) -> dict[str, int]:
    """Per api-gateway replica log file, how many of `request_ids` it logged (Serve's access log
    names each request's id, the `x-request-id` of its answer)."""
    logs = deployed.cluster.temp_dir.glob("session_latest/logs/serve/replica_*api-gateway*.log")
    counts = {path.name: sum(rid in path.read_text(errors="replace") for rid in request_ids) for path in logs}
    return {name: count for name, count in counts.items() if count}


def test_two_gateway_replicas_share_one_limit_per_key(deployed: DeployedApp):
    config = copy.deepcopy(deployed.config)
    gateway = deployment_config(config, "api-gateway")
    gateway["num_replicas"] = 2
    gateway["logging_config"] = {"enable_access_log": True}  # the profile turns it off: the witness below
    try:
        deployed.deploy(config)
        deadline = time.monotonic() + 120
        while len(replica_ids(deployed.cluster)["api-gateway"]) != 2:
            assert time.monotonic() < deadline, "the gateway did not reach 2 replicas"
            time.sleep(0.5)
        marker = f"probe-{uuid.uuid4().hex[:12]}"  # no such rubric
        with deployed.client(deployed.api_key("read"), honor_rate_limit=False) as client:
            started = time.monotonic()
            # An unknown rubric: 404 once past auth and the limit, 429 when over it.
            with ThreadPoolExecutor(8) as pool:
                replies = list(pool.map(lambda _: client.get(f"/v1/rubrics/{marker}"),
                                        range(3 * RATE_LIMIT_PER_MINUTE)))
            elapsed = time.monotonic() - started
        codes = [r.status_code for r in replies]
        refilled = int(elapsed * RATE_LIMIT_PER_MINUTE / 60) + 1
        assert set(codes) == {404, 429}, codes
        # Per replica, each would have let RATE_LIMIT_PER_MINUTE through: 2x in all.
        assert RATE_LIMIT_PER_MINUTE <= codes.count(404) <= RATE_LIMIT_PER_MINUTE + refilled, (codes.count(404), elapsed)
        time.sleep(2)  # replica logs are flushed asynchronously
        served = _replica_logs(deployed, {r.headers["x-request-id"] for r in replies})
        logs = sorted(p.name for p in deployed.cluster.temp_dir.glob("session_latest/logs/serve/replica_*"))
        assert len(served) == 2, f"the requests did not reach both replicas: {served} (logs: {logs})"
    finally:
        deployed.restore()
