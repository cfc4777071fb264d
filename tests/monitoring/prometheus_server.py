"""A real Prometheus (Debian's `prometheus` binary) for tests: own port, own data, stopped after."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deployments.local_cluster import free_port


@dataclass
class PrometheusServer:
    """Prometheus scraping fixed targets every `scrape_interval_s`, evaluating `rule_files`.

    Example:
        >>> with PrometheusServer(tmp_path, targets=["127.0.0.1:8080"]) as prom:
        ...     prom.query('ray_callytics_calls_accepted_total')
    """

    work_dir: Path
    targets: list[str]
    rule_files: list[Path] = field(default_factory=list)
    scrape_interval_s: int = 2
    port: int = 0
    _process: subprocess.Popen | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        # A static loopback target: Ray's service-discovery file (which the production
        # cluster/monitoring/prometheus.yml reads) lists the node IP, not 127.0.0.1.
        return {
            "global": {"scrape_interval": f"{self.scrape_interval_s}s", "evaluation_interval": f"{self.scrape_interval_s}s"},
            "rule_files": [str(p) for p in self.rule_files],
            "scrape_configs": [{"job_name": "ray", "static_configs": [{"targets": self.targets}]}],
        }

    def __enter__(self) -> PrometheusServer:
        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError("prometheus not found: install Debian's prometheus package (scripts/setup.sh does)")
        self.port = self.port or free_port()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        config = self.work_dir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self.config()))
        log = open(self.work_dir / "prometheus.log", "ab")  # noqa: SIM115 (kept open by the child)
        self._process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={self.work_dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not self._ready():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"prometheus did not start; see {self.work_dir / 'prometheus.log'}")
            time.sleep(0.3)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(5)
        self._process = None

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant query: the result vector (each item has "metric" labels and "value")."""
        return self.api("query", query=promql)["result"]

    def wait_for(self, promql: str, *, timeout_s: float = 90.0) -> list[dict[str, Any]]:
        """Poll until the query returns something (Ray exports every few seconds)."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = self.query(promql)
            if result or time.monotonic() > deadline:
                return result
            time.sleep(1.0)
