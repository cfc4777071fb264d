"""A second Ray node on this machine (LocalCluster.add_node), as the reliability bench's chaos phase
uses it: it joins the head, and once its raylet is killed the head counts it dead and every process
of the node is gone."""

from __future__ import annotations

import time

import psutil
import pytest

from deployments.local_cluster import LocalCluster
from tests.serve.conftest import short_temp_dir

pytestmark = [pytest.mark.serve, pytest.mark.slow]


def test_a_second_node_joins_and_dies_with_its_raylet():
    cluster = LocalCluster(temp_dir=short_temp_dir("cnode-"), num_cpus=1).start()
    try:
        node = cluster.add_node(num_cpus=1, settle_s=0)
        assert cluster.alive_nodes() == 2
        processes = node.pids()
        assert len(processes) >= 2  # the raylet and its agents, in the node's own session
        raylet = node.kill_raylet()
        assert raylet in processes
        deadline = time.monotonic() + 180
        while cluster.alive_nodes() != 1 or any(psutil.pid_exists(p) for p in processes if p != node.process.pid):
            assert time.monotonic() < deadline, (cluster.alive_nodes(), [p for p in processes if psutil.pid_exists(p)])
            time.sleep(1)
    finally:
        cluster.stop(remove_temp_dir=True)
