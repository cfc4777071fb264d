"""The cluster configs: the launcher config passes Ray's own validation, the RayService embeds
serve_config.yaml verbatim, and every resource a deployment asks for is offered by a node type."""

from __future__ import annotations

import importlib.util
import json

import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

from deployments.app import AppArgs
from tests.monitoring.promql import ROOT

LAUNCHER = ROOT / "cluster" / "launcher" / "gpu-cluster.yaml"
SERVE_CONFIG = ROOT / "serve_config.yaml"
RAYSERVICE = ROOT / "cluster" / "kuberay" / "rayservice.yaml"
RAYCLUSTER_SPEC = ROOT / "cluster" / "kuberay" / "raycluster-spec.yaml"


def _render_module():
    spec = importlib.util.spec_from_file_location("render_cluster", ROOT / "scripts" / "render_cluster.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def serve_args() -> list[AppArgs]:
    if not SERVE_CONFIG.exists():
        pytest.skip("serve_config.yaml (the GPU cluster's Serve config) is not in the checkout yet")
    config = yaml.safe_load(SERVE_CONFIG.read_text())
    return [AppArgs.model_validate(app.get("args", {})) for app in config["applications"]
            if app["import_path"] == "deployments.app:build_app"]


def requested(args: AppArgs) -> list[tuple[str, float, dict[str, float]]]:
    """(stage, num_gpus, custom resources) of every stage the builder binds."""
    stages = [(name, args.stage_resources(name)) for name in args.resources]
    stages += [(f"variant {name}", res) for name, res in args.variant_resources.items()]
    return [(name, res.num_gpus, res.custom_resources) for name, res in stages]


def test_launcher_config_passes_ray_validation():
    config = prepare_config(yaml.safe_load(LAUNCHER.read_text()))  # what `ray up` does first
    validate_config(config)
    assert config["available_node_types"]["gpu_worker"]["max_workers"] > config["available_node_types"]["gpu_worker"]["min_workers"]
    starts = " ".join(config["head_start_ray_commands"] + config["worker_start_ray_commands"])
    assert starts.count("--metrics-export-port=8080") == 2  # every node is scraped (prometheus.yml)


def test_launcher_offers_what_the_serve_config_asks_for(serve_args):
    nodes = yaml.safe_load(LAUNCHER.read_text())["available_node_types"]
    offered = {key for node in nodes.values() for key in node.get("resources", {})}
    gpu_types = [n for n in nodes.values() if n["node_config"]["InstanceType"].startswith(("g4", "g5", "g6", "p3", "p4", "p5"))]
    for args in serve_args:
        for stage, num_gpus, custom in requested(args):
            assert set(custom) <= offered, f"{stage} asks for {set(custom) - offered}, no node type offers it"
            assert num_gpus <= 1 and (num_gpus == 0 or gpu_types), f"{stage}: {num_gpus} GPU"


def test_rayservice_embeds_serve_config_verbatim(serve_args):
    render = _render_module()
    manifest = yaml.safe_load(RAYSERVICE.read_text())
    assert manifest["apiVersion"] == "ray.io/v1" and manifest["kind"] == "RayService"
    assert render.embedded_serve_config(RAYSERVICE.read_text()) == SERVE_CONFIG.read_text()
    assert manifest["spec"]["rayClusterConfig"] == yaml.safe_load(RAYCLUSTER_SPEC.read_text())


def test_kuberay_groups_offer_what_the_serve_config_asks_for(serve_args):
    spec = yaml.safe_load(RAYCLUSTER_SPEC.read_text())
    groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
    offered = set()
    for group in groups:
        raw = group["rayStartParams"].get("resources")
        if raw:
            offered |= set(json.loads(json.loads(raw)))  # KubeRay's quoted-JSON form: '"{\"x\": 1}"'
    gpu_groups = [g for g in spec["workerGroupSpecs"]
                  if "nvidia.com/gpu" in g["template"]["spec"]["containers"][0]["resources"]["limits"]]
    assert gpu_groups and all(g["maxReplicas"] > g["minReplicas"] for g in gpu_groups)
    for args in serve_args:
        for stage, num_gpus, custom in requested(args):
            assert set(custom) <= offered, f"{stage} asks for {set(custom) - offered}, no worker group offers it"
            assert num_gpus == 0 or gpu_groups
