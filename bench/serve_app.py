"""The Serve application as the benchmarks run it: a local Ray cluster with a deployment profile
on it, an API key, and calls submitted over HTTP."""

from __future__ import annotations

import copy
import logging
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from callytics_ray.settings import Settings, serve_app_settings
from callytics_ray.storage import make_engine
from callytics_ray.storage.keys import create_api_key
from deployments.local_cluster import LocalCluster, free_port

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
CPU_PROFILE = ROOT / "deployments" / "profiles" / "cpu.yaml"
APP = "callytics"


def load_profile(path: Path = CPU_PROFILE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def app_section(config: dict[str, Any]) -> dict[str, Any]:
    return next(a for a in config["applications"] if a["name"] == APP)


def deployment_section(config: dict[str, Any], name: str) -> dict[str, Any]:
    return next(d for d in app_section(config)["deployments"] if d["name"] == name)


def bench_profile(work: Path, cache_dir: Path, *, profile: Path = CPU_PROFILE, only_variant: str | None = "base",
                  max_concurrent_calls: int | None = None) -> dict[str, Any]:
    """The profile with its own port, database and model cache; `only_variant` gets every call
    (the other A/B arms stay deployed with weight 0), so both sides of a comparison run one model."""
    config = copy.deepcopy(load_profile(profile))
    config["http_options"]["port"] = free_port()
    settings = app_section(config)["args"]["settings"]
    settings["database_url"] = f"sqlite:///{work / 'bench.db'}"
    settings["cache_dir"] = str(cache_dir)
    api = settings.setdefault("api", {})
    api["rate_limit_per_minute"] = 0
    if max_concurrent_calls:
        api["max_concurrent_calls"] = max_concurrent_calls
    if only_variant:
        gateway = deployment_section(config, "api-gateway").setdefault("user_config", {})
        names = [v["name"] for v in api.get("variants", [])]
        if names:
            gateway["variant_weights"] = {n: 1.0 if n == only_variant else 0.0 for n in names}
    return config


def profile_settings(config: dict[str, Any]) -> Settings:
    """The Settings every replica of `config` builds (the in-process baseline uses the same)."""
    return serve_app_settings(config, APP)


@dataclass
class RunningApp:
    cluster: LocalCluster
    config: dict[str, Any]
    base_url: str
    api_key: str
    cluster_start_s: float = 0.0  # `ray start` until its dashboard answers
    deploy_s: float = 0.0  # `serve deploy` until every deployment is HEALTHY (models loaded)

    @property
    def ready_s(self) -> float:
        return self.cluster_start_s + self.deploy_s

    def client(self, timeout_s: float = 1800) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {self.api_key}"},
                            timeout=timeout_s)

    def submit_all(self, paths: list[Path]) -> list[dict[str, Any]]:
        """Upload every recording at once (one thread each, `wait=true`); their final call records."""
        with self.client() as client, ThreadPoolExecutor(len(paths)) as pool:
            return list(pool.map(lambda p: upload(client, p), paths))

    def redeploy(self, config: dict[str, Any], work: Path, timeout_s: float = 600) -> None:
        path = work / "config.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.cluster.deploy(path)
        self.cluster.wait_running(APP, timeout_s=timeout_s)
        self.config = config


def upload(client: httpx.Client, path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        response = client.post("/v1/calls", params={"wait": "true"},
                               files={"file": (path.name, handle, "audio/wav")})
    response.raise_for_status()
    return response.json()


@contextmanager
def running_app(config: dict[str, Any], work: Path, *, logical_cpus: int = 4,
                num_gpus: int = 0, worker_node_cpus: int = 0, timeout_s: float = 600) -> Iterator[RunningApp]:
    """Start a cluster, deploy `config`, yield it; stop the cluster (and its temp dir) after.

    `logical_cpus` only sizes Ray's scheduling (fractional replicas must fit); the processes
    share the machine's real cores either way. `worker_node_cpus` > 0 adds a second node (before
    the deploy, so Serve spreads the replicas over both); the head alone can still hold them all.
    """
    temp = Path(tempfile.mkdtemp(prefix="cbench-", dir="/tmp"))  # Ray's socket paths must stay short
    started = time.perf_counter()
    cluster = LocalCluster(temp_dir=temp, num_cpus=logical_cpus, num_gpus=num_gpus).start()
    cluster_start_s = time.perf_counter() - started
    try:
        if worker_node_cpus:
            cluster.add_node(num_cpus=worker_node_cpus)
        path = work / "config.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        started = time.perf_counter()
        cluster.deploy(path)
        cluster.wait_running(APP, timeout_s=timeout_s, poll_s=0.25)
        deploy_s = time.perf_counter() - started
        database_url = serve_app_settings(config, APP).database_url
        secret, _ = create_api_key(make_engine(database_url), tenant="bench", scopes=("submit", "read"))
        yield RunningApp(cluster, config, f"http://127.0.0.1:{config['http_options']['port']}", secret,
                         cluster_start_s, deploy_s)
    finally:
        cluster.stop(remove_temp_dir=True)
