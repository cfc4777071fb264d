"""Start a local Ray cluster and deploy a Serve config to it (the README's main command, tests).

The cluster runs as `ray start --head --block` in its own process group, so stopping it ends
exactly the processes it started (`ray stop` would end every Ray process on the machine). Worker
nodes on the same machine (`add_node`) run the same way, each in its own process group, so a test
can take one node down on its own.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

_RAY = Path(sys.executable).with_name("ray")
_SERVE = Path(sys.executable).with_name("serve")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ClusterError(RuntimeError):
    """The local cluster did not start, or a deployment did not become healthy."""


def _stop_session(process: subprocess.Popen | None, timeout_s: float) -> None:
    """End the process group a `ray start --block` leads (SIGTERM drains, SIGKILL after `timeout_s`)."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    except ProcessLookupError:
        pass


def session_pids(leader: int) -> list[int]:
    """Processes in the session `leader` started (a `ray start --block` run with
    start_new_session: its raylet and every worker and replica it spawned; on the head also the GCS
    and the dashboard)."""
    import psutil

    pids = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getsid(proc.info["pid"]) == leader:
                pids.append(proc.info["pid"])
        except (ProcessLookupError, PermissionError):
            continue
    return pids


@dataclass
class WorkerNode:
    """A second Ray node on this machine, joined to a LocalCluster's head (`LocalCluster.add_node`).

    Attributes:
        temp_dir: the node's own session root (its logs, its replicas' logs).
        process: the `ray start --address=... --block` process; its session holds the node's raylet
            and every worker the raylet started.
    """

    temp_dir: Path
    process: subprocess.Popen

    def pids(self) -> list[int]:
        """Every live process of this node (raylet, agents, workers, replicas)."""
        return session_pids(self.process.pid)

    def raylet_pid(self) -> int:
        """The pid of this node's raylet.

        Raises:
            ClusterError: the node has no running raylet.
        """
        import psutil

        for pid in self.pids():
            try:
                if psutil.Process(pid).name() == "raylet":
                    return pid
            except psutil.Error:
                continue
        raise ClusterError(f"no raylet runs on the node in {self.temp_dir}")

    def kill_raylet(self) -> int:
        """SIGKILL the node's raylet (as a machine that dies would); its pid. The node's workers
        exit once they lose it, and the head marks the node dead after its health checks."""
        pid = self.raylet_pid()
        os.kill(pid, signal.SIGKILL)
        logger.info("killed the raylet (pid %d) of the node in %s", pid, self.temp_dir)
        return pid

    def stop(self, timeout_s: float = 45.0) -> None:
        _stop_session(self.process, timeout_s)


@dataclass
class LocalCluster:
    """One Ray head node on this machine.

    Attributes:
        temp_dir: Ray's session root (logs, object spilling, runtime_env caches); removed by
            `stop(remove_temp_dir=True)`, which also drops the per-session runtime_env copies.
        num_cpus / num_gpus / memory_gb: logical resources the node advertises (`num_gpus` > 0
            without GPUs lets fractional-GPU configs schedule, as on a GPU node; None: detected).
        gcs_port / dashboard_port / metrics_port: 0 picks a free port.
        auth_token: Ray's token auth (on by default in Ray 2.60): every CLI call and driver gets it.

    Example:
        >>> cluster = LocalCluster(temp_dir=Path("/tmp/callytics-ray"), num_cpus=2).start()
        >>> cluster.deploy(Path("deployments/profiles/cpu.yaml"))
        >>> cluster.wait_running("callytics", timeout_s=300)
        >>> cluster.stop()
    """

    temp_dir: Path
    num_cpus: int | None = None
    num_gpus: int = 0
    memory_gb: float | None = None
    gcs_port: int = 0
    dashboard_port: int = 0
    metrics_port: int = 0
    auth_token: str = field(default_factory=lambda: secrets.token_hex(24))
    extra_env: dict[str, str] = field(default_factory=dict)
    worker_nodes: list[WorkerNode] = field(default_factory=list, init=False, repr=False)
    _process: subprocess.Popen | None = field(default=None, init=False, repr=False)
    _deployed_at: float = field(default=0.0, init=False, repr=False)

    @property
    def gcs_address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def env(self) -> dict[str, str]:
        """Environment for everything that talks to this cluster (CLI calls, drivers, replicas)."""
        env = dict(os.environ)
        # Serve's controller reconciles every 0.1 s and replicas export cached metrics every
        # 100 ms by default; on a 2-core laptop that idles at 2.5 CPU s a minute in the controller
        # alone. 0.5 s and 1 s cut the idle cluster from 11.0 to 8.1 CPU s a minute (the
        # controller 2.55 -> 0.86), at most 0.4 s later reaction to a failed replica. An
        # operator's own setting wins.
        env.setdefault("RAY_SERVE_CONTROL_LOOP_INTERVAL_S", "0.5")
        env.setdefault("RAY_SERVE_METRICS_EXPORT_INTERVAL_MS", "1000")
        env.update(self.extra_env)
        env.update({
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": self.auth_token,
            "RAY_USAGE_STATS_ENABLED": "0",
            # One node has nowhere to move replicas to: drain-on-SIGTERM would only wait out its 30 s.
            "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
        })
        env.pop("RAY_ADDRESS", None)
        return env

    @property
    def session_leader(self) -> int:
        """The pid of the `ray start --block` process: every Ray process of this cluster runs in
        its session (benchmarks sample their CPU and memory with it)."""
        if self._process is None:
            raise ClusterError("the cluster is not running")
        return self._process.pid

    def pids(self) -> list[int]:
        """Every live process of the cluster: the head's session and each worker node's."""
        return [pid for leader in (self.session_leader, *(n.process.pid for n in self.worker_nodes))
                for pid in session_pids(leader)]

    def connect_driver(self, **init_kwargs: Any) -> None:
        """Make this process a Ray driver of the cluster (for DeploymentHandles); `ray.shutdown()` ends it."""
        for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN"):
            os.environ[name] = self.env[name]
        import ray
        from ray._raylet import Config

        # Ray reads the auth mode into its config when it is first imported; re-read the
        # environment, as ray's own _enable_token_auth does.
        Config.initialize("")
        ray.init(address=self.gcs_address, **init_kwargs)

    def start(self, *, timeout_s: float = 120.0) -> LocalCluster:
        """Start the head node and wait until its dashboard (and Serve's REST API) answers."""
        self.gcs_port = self.gcs_port or free_port()
        self.dashboard_port = self.dashboard_port or free_port()
        self.metrics_port = self.metrics_port or free_port()
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(_RAY), "start", "--head", "--block",
            f"--port={self.gcs_port}",
            "--node-ip-address=127.0.0.1",
            "--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={self.dashboard_port}",
            f"--metrics-export-port={self.metrics_port}",
            f"--temp-dir={self.temp_dir}",
            f"--num-gpus={self.num_gpus}",
            "--disable-usage-stats",
            # Ray starts its Client server (`ray://`) on 10001 unless told otherwise (it cannot be
            # turned off): two clusters on one machine (the tests' and a bench's) would both claim it.
            f"--ray-client-server-port={free_port()}",
        ]
        if self.num_cpus is not None:
            command.append(f"--num-cpus={self.num_cpus}")
        if self.memory_gb is not None:
            command.append(f"--memory={int(self.memory_gb * 1024**3)}")
        log = open(self.temp_dir / "ray-start.log", "ab")  # noqa: SIM115 (kept open by the child)
        self._process = subprocess.Popen(
            command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout_s
        while not self._dashboard_up():
            if self._process.poll() is not None:
                raise ClusterError(f"ray start exited with {self._process.returncode}; see {self.temp_dir}/ray-start.log")
            if time.monotonic() > deadline:
                self.stop()
                raise ClusterError(f"the Ray dashboard did not come up in {timeout_s:.0f} s")
            time.sleep(0.5)
        logger.info("local Ray cluster up: gcs %s, dashboard %s", self.gcs_address, self.dashboard_url)
        return self

    def add_node(self, *, num_cpus: int, object_store_mb: int = 256, timeout_s: float = 120.0,
                 settle_s: float = 5.0) -> WorkerNode:
        """Start a worker node on this machine and join it to the head (`ray start --address`).

        Serve spreads replicas over the nodes (its default SPREAD scheduling), so replicas started
        after the node joined land on both. Stopped with the cluster.

        Args:
            num_cpus: logical CPUs the node advertises (its processes share the machine's cores).
            object_store_mb: the node's object store (small: replicas pass little through it).
            settle_s: a pause after the node registered, for the head to learn its resources.

        Raises:
            ClusterError: the node did not register with the head in `timeout_s`.
        """
        if self._process is None:
            raise ClusterError("start the head node first")
        temp_dir = self.temp_dir / f"n{len(self.worker_nodes) + 2}"  # short: Ray's socket paths live under it
        temp_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(_RAY), "start", "--block", f"--address={self.gcs_address}", "--node-ip-address=127.0.0.1",
            f"--num-cpus={num_cpus}", "--num-gpus=0", f"--object-store-memory={object_store_mb * 2**20}",
            f"--temp-dir={temp_dir}", "--disable-usage-stats",
        ]
        log = open(temp_dir / "ray-start.log", "ab")  # noqa: SIM115 (kept open by the child)
        process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        node = WorkerNode(temp_dir, process)
        self.worker_nodes.append(node)
        deadline = time.monotonic() + timeout_s
        # Count every node: a head that has just started may not be listed itself yet.
        while self.alive_nodes() < 1 + sum(1 for n in self.worker_nodes if n.process.poll() is None):
            if process.poll() is not None:
                raise ClusterError(f"ray start (worker) exited with {process.returncode}; see {temp_dir}/ray-start.log")
            if time.monotonic() > deadline:
                raise ClusterError(f"the worker node did not join in {timeout_s:.0f} s")
            time.sleep(0.5)
        # The head's raylet hears of the new node's resources a moment after the node registers;
        # until then it places every replica on itself.
        time.sleep(settle_s)
        logger.info("worker node up (%d CPUs), session in %s", num_cpus, temp_dir)
        return node

    def alive_nodes(self) -> int:
        """How many nodes the head counts as alive."""
        nodes = self._get("/nodes?view=summary")["data"]["summary"]
        return sum(1 for node in nodes if node.get("raylet", {}).get("state") == "ALIVE")

    @property
    def log_dirs(self) -> list[Path]:
        """The current session's log folder of every node (the head's first)."""
        return [d / "session_latest" / "logs" for d in (self.temp_dir, *(n.temp_dir for n in self.worker_nodes))]

    def _dashboard_up(self) -> bool:
        try:
            self._get("/api/version", timeout_s=2)
            return True
        except (urllib.error.URLError, OSError):
            return False

    def _get(self, path: str, *, timeout_s: float = 10) -> Any:
        request = urllib.request.Request(
            f"{self.dashboard_url}{path}", headers={"Authorization": f"Bearer {self.auth_token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read())

    def serve_details(self) -> dict[str, Any]:
        """Serve's REST view of every application, deployment and replica (ids, pids, states)."""
        return self._get("/api/serve/applications/")

    def object_store_used_bytes(self) -> int:
        """Bytes held in the object store, summed over the cluster's nodes (the dashboard's view)."""
        nodes = self._get("/nodes?view=summary")["data"]["summary"]
        return sum(int(node.get("raylet", {}).get("objectStoreUsedMemory", 0)) for node in nodes)

    def serve(self, *args: str, timeout_s: float = 120.0) -> str:
        """Run a `serve` CLI command against this cluster; its stdout."""
        command = [str(_SERVE), *args, "--address", self.dashboard_url]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout_s)
        if done.returncode != 0:
            raise ClusterError(f"serve {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def deploy(self, config: Path) -> None:
        """`serve deploy` a config file (every application in it; others are deleted)."""
        self._deployed_at = time.time()
        self.serve("deploy", str(config))

    def status(self) -> dict[str, Any]:
        """`serve status` as a dict."""
        return yaml.safe_load(self.serve("status")) or {}

    def wait_running(self, app: str, *, timeout_s: float = 300.0, poll_s: float = 1.0) -> dict[str, Any]:
        """Wait until `app` and all its deployments are RUNNING (HEALTHY).

        Raises:
            ClusterError: the app failed to deploy (with Serve's message) or the wait timed out.
        """
        deadline = time.monotonic() + timeout_s
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            last = self.status().get("applications", {}).get(app, {})
            if last.get("last_deployed_time_s", 0.0) < self._deployed_at - 1.0:
                time.sleep(poll_s)  # the status still describes the config before the last deploy
                continue
            state = last.get("status")
            deployments = last.get("deployments", {})
            if state == "RUNNING" and deployments and all(d.get("status") == "HEALTHY" for d in deployments.values()):
                return last
            if state == "DEPLOY_FAILED":
                failed = {n: d.get("message") for n, d in deployments.items() if d.get("status") != "HEALTHY"}
                raise ClusterError(f"{app} failed to deploy: {last.get('message')} {failed}")
            time.sleep(poll_s)
        raise ClusterError(f"{app} not running after {timeout_s:.0f} s: {last}")

    def stop(self, *, timeout_s: float = 45.0, remove_temp_dir: bool = False) -> None:
        """Stop the processes this cluster started, worker nodes first (SIGTERM drains, SIGKILL
        after `timeout_s`)."""
        for node in self.worker_nodes:
            node.stop(timeout_s)
        self.worker_nodes.clear()
        _stop_session(self._process, timeout_s)
        self._process = None
        if remove_temp_dir:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
