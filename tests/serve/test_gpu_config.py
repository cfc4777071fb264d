"""serve_config.yaml (the GPU-cluster config) schedules: a local cluster advertising 2 logical
GPUs (`ray start --head --num-gpus=2`) runs every deployment with its fractional GPU share.

This box has no GPU, so the replicas load the bundled models on the CPU (ctranslate2 and torch see
no CUDA device) instead of the production ones, and the per-stage runtime_envs stay off (the
pyannote env alone downloads a CUDA torch); the resources, fractional GPUs, replica counts,
autoscaling and user_configs are the file's own.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from callytics_ray.storage import make_engine
from callytics_ray.storage.keys import create_api_key
from deployments.local_cluster import LocalCluster, free_port
from tests.serve.conftest import APP, GPU_CONFIG, app_config, load_config, short_temp_dir, upload

pytestmark = [pytest.mark.serve, pytest.mark.models, pytest.mark.slow]

# The node the config is sized for: logical CPUs, GPUs and memory for its per-replica reservations
# (two gateway replicas, two recognizers at 6 GB each, ...). Replicas really use far less here.
GPU_NODE_CPUS = 16
GPU_NODE_GPUS = 2
GPU_NODE_MEMORY_GB = 64


def gpu_config_on_this_box(*, http_port: int, database_url: str, cache_dir: Path) -> dict[str, Any]:
    """serve_config.yaml with the models this box has; everything that decides placement kept."""
    config = load_config(GPU_CONFIG)
    config["http_options"] = {"host": "127.0.0.1", "port": http_port}
    args = app_config(config)["args"]
    args["runtime_envs"] = False
    settings = args["settings"]
    settings.update(cache_dir=str(cache_dir), database_url=database_url, offline=True)
    settings["asr"] = {"model": "bundled:whisper-base", "device": "auto", "compute_type": "auto"}
    settings["diarization"] = {"backend": "offline", "device": "auto"}
    settings["punctuation"] = {"model": None, "device": "auto"}
    settings["sentiment"] = {"model": None, "device": "auto"}
    settings["llm"] = {"base_url": None}
    for variant in settings["api"]["variants"]:
        variant["asr_model"] = "bundled:whisper-tiny.en" if variant.get("asr_model") else None
    return config


@pytest.fixture(scope="module")
def gpu_cluster() -> Iterator[LocalCluster]:
    cluster = LocalCluster(
        temp_dir=short_temp_dir("crg-"), num_cpus=GPU_NODE_CPUS, num_gpus=GPU_NODE_GPUS, memory_gb=GPU_NODE_MEMORY_GB
    ).start()
    try:
        yield cluster
    finally:
        cluster.stop(remove_temp_dir=True)


def _used_gpus(cluster: LocalCluster) -> tuple[float, float]:
    ray_cli = Path(sys.executable).with_name("ray")
    done = subprocess.run(
        [str(ray_cli), "status", f"--address={cluster.gcs_address}"],
        env=cluster.env, capture_output=True, text=True, timeout=60,
    )
    match = re.search(r"([\d.]+)/([\d.]+) GPU", done.stdout)
    assert match, done.stdout + done.stderr
    return float(match.group(1)), float(match.group(2))


def test_gpu_config_schedules_on_logical_gpus(
    gpu_cluster: LocalCluster, serve_cache: Path, tmp_path: Path, stereo_call_path: Path
):
    http_port, database_url = free_port(), f"sqlite:///{tmp_path / 'gpu.db'}"
    config = gpu_config_on_this_box(http_port=http_port, database_url=database_url, cache_dir=serve_cache)
    path = tmp_path / "serve_config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    gpu_cluster.deploy(path)
    status = gpu_cluster.wait_running(APP, timeout_s=300)
    expected = {d["name"] for d in app_config(config)["deployments"]}
    assert set(status["deployments"]) == expected
    details = gpu_cluster.serve_details()["applications"][APP]["deployments"]
    replicas = {name: len([r for r in d["replicas"] if r["state"] == "RUNNING"]) for name, d in details.items()}
    assert replicas["api-gateway"] == 2  # the config's min_replicas
    shares = {name: d["deployment_config"]["ray_actor_options"].get("num_gpus", 0) for name, d in details.items()}
    expected_gpus = sum(shares[name] * count for name, count in replicas.items())
    assert expected_gpus == pytest.approx(1.5)
    # Ray's own accounting: the fractional replicas packed onto the 2 logical GPUs.
    assert _used_gpus(gpu_cluster) == (pytest.approx(1.5), float(GPU_NODE_GPUS))
    # And the application it built answers: one call through its two gateway replicas.
    secret, _ = create_api_key(make_engine(database_url), tenant="gpu", scopes=("submit", "read"))
    with httpx.Client(base_url=f"http://127.0.0.1:{http_port}", headers={"Authorization": f"Bearer {secret}"},
                      timeout=300) as client:
        response = upload(client, stereo_call_path)
    assert response.status_code == 200 and response.json()["status"] == "completed", response.text
    assert response.json()["variant"] in {"large-v3", "turbo"}
