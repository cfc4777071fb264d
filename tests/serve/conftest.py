"""One real local Ray cluster for the Serve tests, with the CPU profile deployed on it.

Start-ups are the expensive part on 2 cores (about 8 s for the cluster, 30-60 s for the app), so
most tests share the session's cluster and application; only the logical-GPU test starts its own.
"""

from __future__ import annotations

import copy
import mimetypes
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from deployments.local_cluster import LocalCluster, free_port

ROOT = Path(__file__).resolve().parents[2]
CPU_PROFILE = ROOT / "deployments" / "profiles" / "cpu.yaml"
GPU_CONFIG = ROOT / "serve_config.yaml"
APP = "callytics"

# The whole graph reserves 1.9 CPUs; the rollout test adds a replica, so advertise 4 logical CPUs.
TEST_CPUS = 4
RATE_LIMIT_PER_MINUTE = 30
MAX_UPLOAD_MB = 3


def load_config(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def app_config(config: dict[str, Any]) -> dict[str, Any]:
    return next(a for a in config["applications"] if a["name"] == APP)


def deployment_config(config: dict[str, Any], name: str) -> dict[str, Any]:
    return next(d for d in app_config(config)["deployments"] if d["name"] == name)


def short_temp_dir(prefix: str) -> Path:
    # Ray's unix socket paths live under the temp dir and must stay under 107 characters.
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


@dataclass
class DeployedApp:
    """The CPU profile running on the session's cluster.

    Attributes:
        config: the deployed config (tests change a copy and `deploy` it, then restore this).
        base_url: the Serve HTTP proxy.
        database_url: the SQLite file every replica shares (tests create API keys in it).
    """

    cluster: LocalCluster
    config: dict[str, Any]
    config_path: Path
    base_url: str
    database_url: str

    def deploy(self, config: dict[str, Any], *, wait: bool = True, timeout_s: float = 300) -> None:
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.cluster.deploy(self.config_path)
        if wait:
            self.cluster.wait_running(APP, timeout_s=timeout_s)

    def restore(self) -> None:
        self.deploy(self.config)

    def api_key(self, *scopes: str, tenant: str = "tests") -> str:
        from callytics_ray.storage import make_engine
        from callytics_ray.storage.keys import create_api_key

        secret, _ = create_api_key(make_engine(self.database_url), tenant=tenant, scopes=scopes or ("submit", "read"))
        return secret

    def client(self, key: str | None, *, timeout_s: float = 300, honor_rate_limit: bool = True) -> httpx.Client:
        """A client of the app; by default it waits out a 429's Retry-After and resends, as a
        well-behaved client does (the session's keys share small rate limits, and on a loaded
        machine the polling tests poll longer)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        transport = RetryAfterTransport() if honor_rate_limit else None
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s, transport=transport)


class RetryAfterTransport(httpx.HTTPTransport):
    """Resends a request answered 429 after the answer's Retry-After (at most `max_wait_s` in all)."""

    def __init__(self, max_wait_s: float = 120.0) -> None:
        super().__init__()
        self.max_wait_s = max_wait_s

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # a multipart body is a stream: buffer it so it can be sent again
        waited = 0.0
        while True:
            response = super().handle_request(request)
            if response.status_code != 429 or waited >= self.max_wait_s:
                return response
            delay = min(float(response.headers.get("retry-after", "1")), self.max_wait_s - waited) + 0.05
            response.read()
            response.close()
            time.sleep(delay)
            waited += delay


def profile_for_tests(*, http_port: int, database_url: str, cache_dir: Path) -> dict[str, Any]:
    """The CPU profile as the tests deploy it: own port, database and model cache, small limits."""
    config = load_config(CPU_PROFILE)
    config["http_options"]["port"] = http_port
    settings = app_config(config)["args"]["settings"]
    settings["database_url"] = database_url
    settings["cache_dir"] = str(cache_dir)
    settings.setdefault("api", {}).update(rate_limit_per_minute=RATE_LIMIT_PER_MINUTE, max_upload_mb=MAX_UPLOAD_MB)
    return config


@pytest.fixture(scope="session")
def serve_cache(model_cache: Path) -> Path:
    """Model cache shared by every replica (the Whisper base is assembled into it once)."""
    return model_cache


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[LocalCluster]:
    cluster = LocalCluster(temp_dir=short_temp_dir("crt-"), num_cpus=TEST_CPUS).start()
    try:
        yield cluster
    finally:
        cluster.stop(remove_temp_dir=True)


@pytest.fixture(scope="session")
def ray_driver(ray_cluster: LocalCluster):
    """This test process as a Ray driver of the session cluster (for DeploymentHandles)."""
    import ray

    ray_cluster.connect_driver(log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def handle(deployment: str):
    from ray import serve

    return serve.get_deployment_handle(deployment, app_name=APP)


@pytest.fixture(scope="session")
def deployed(ray_cluster: LocalCluster, serve_cache: Path, tmp_path_factory) -> DeployedApp:
    work = tmp_path_factory.mktemp("serve")
    http_port = free_port()
    database_url = f"sqlite:///{work / 'callytics.db'}"
    config = profile_for_tests(http_port=http_port, database_url=database_url, cache_dir=serve_cache)
    app = DeployedApp(ray_cluster, config, work / "config.yaml", f"http://127.0.0.1:{http_port}", database_url)
    app.deploy(copy.deepcopy(config))
    return app


@pytest.fixture(scope="session")
def submit_key(deployed: DeployedApp) -> str:
    return deployed.api_key("submit", "read")


def upload(client: httpx.Client, path: Path, *, wait: bool = True, **fields: str) -> httpx.Response:
    """POST a recording as multipart/form-data, waiting for the result by default."""
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    with path.open("rb") as handle:
        return client.post(
            "/v1/calls",
            params={"wait": "true"} if wait else None,
            files={"file": (path.name, handle, content_type)},
            data=fields,
        )


def replica_ids(cluster: LocalCluster, app: str = APP) -> dict[str, set[str]]:
    """Running replica ids per deployment, from the Serve REST API."""
    details = cluster.serve_details()
    deployments = details["applications"][app]["deployments"]
    return {
        name: {r["replica_id"] for r in d.get("replicas", []) if r.get("state") == "RUNNING"}
        for name, d in deployments.items()
    }
