"""Two Ray nodes on this machine: a worker node joins the head with `ray start --address` and a
custom resource, and Serve places the replica that asks for that resource on it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from deployments.local_cluster import LocalCluster, free_port
from tests.serve.conftest import short_temp_dir

pytestmark = [pytest.mark.serve, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).with_name("ray")


class WorkerNode:
    """`ray start --address=<head> --block` in its own process group, with its own ports."""

    def __init__(self, head: LocalCluster, *, num_cpus: int, resources: dict[str, float]) -> None:
        self.head = head
        self.command = [
            str(RAY), "start", "--block", f"--address={head.gcs_address}",
            "--node-ip-address=127.0.0.1", f"--num-cpus={num_cpus}", f"--resources={json.dumps(resources)}",
            # A second node on one machine needs ports of its own (the agent's default is fixed).
            f"--dashboard-agent-listen-port={free_port()}", f"--metrics-export-port={free_port()}",
            "--disable-usage-stats",
        ]
        self.resources = resources
        self._process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 90.0) -> WorkerNode:
        log = open(self.head.temp_dir / "worker-node.log", "ab")  # noqa: SIM115 (kept open by the child)
        self._process = subprocess.Popen(
            self.command, env=self.head.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout_s
        while self.node_id() is None:
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker node did not join; see {self.head.temp_dir / 'worker-node.log'}")
            time.sleep(1.0)
        return self

    def node_id(self) -> str | None:
        """The id of the alive node advertising this worker's custom resource (Ray's state API)."""
        nodes = self.head._get("/api/v0/nodes?detail=1")["data"]["result"]["result"]
        key = next(iter(self.resources))
        alive = [n for n in nodes if n["state"] == "ALIVE" and key in n.get("resources_total", {})]
        return alive[0]["node_id"] if alive else None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(45)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(10)


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[tuple[LocalCluster, WorkerNode]]:
    # The head keeps one CPU for Serve's controller and proxy; the stage can only fit on the worker.
    head = LocalCluster(temp_dir=short_temp_dir("cmn-"), num_cpus=1, extra_env={"PYTHONPATH": str(ROOT)}).start()
    worker = WorkerNode(head, num_cpus=1, resources={"worker_node": 1})
    try:
        yield head, worker.start()
    finally:
        worker.stop()
        head.stop(remove_temp_dir=True)


def test_replica_needing_the_worker_resource_runs_on_the_worker_node(two_nodes, tmp_path):
    head, worker = two_nodes
    nodes = head._get("/api/v0/nodes?detail=1")["data"]["result"]["result"]
    assert len([n for n in nodes if n["state"] == "ALIVE"]) == 2
    config = {
        "proxy_location": "HeadOnly",  # one HTTP port per machine: no second proxy on the worker
        "http_options": {"host": "127.0.0.1", "port": free_port()},
        "applications": [{
            "name": "placement",
            "route_prefix": "/placement",
            "import_path": "tests.monitoring.placement_app:build",
            "args": {"resources": {"audio-processor": {"num_cpus": 0.2, "custom_resources": {"worker_node": 0.5}}}},
            "deployments": [{"name": "audio-processor", "num_replicas": 2, "user_config": {"options": {}}}],
        }],
    }
    path = tmp_path / "placement.yaml"
    path.write_text(yaml.safe_dump(config))
    head.deploy(path)
    head.wait_running("placement", timeout_s=180)

    replicas = head.serve_details()["applications"]["placement"]["deployments"]["audio-processor"]["replicas"]
    assert len(replicas) == 2
    assert {r["state"] for r in replicas} == {"RUNNING"}
    assert {r["node_id"] for r in replicas} == {worker.node_id()}
    head_ids = {n["node_id"] for n in nodes if n.get("is_head_node")}
    assert len(head_ids) == 1 and worker.node_id() not in head_ids
