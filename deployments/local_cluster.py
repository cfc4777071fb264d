"""Start a local Ray cluster and deploy a Serve config to it (the README's main command, tests).

The cluster runs as `ray start --head --block` in its own process group, so stopping it ends
exactly the processes it started (`ray stop` would end every Ray process on the machine).
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
        """Stop the processes this cluster started (SIGTERM drains, SIGKILL after `timeout_s`)."""
        if self._process is not None and self._process.poll() is None:
            try:
                os.killpg(self._process.pid, signal.SIGTERM)
                self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(10)
            except ProcessLookupError:
                pass
        self._process = None
        if remove_temp_dir:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
