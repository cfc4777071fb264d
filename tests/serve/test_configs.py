"""serve_config.yaml and the CPU profile: they parse, their import_path resolves, the builder builds
them, and they configure exactly the deployments it builds. No cluster, no models."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from ray.serve._private.build_app import build_app as build_serve_app
from ray.serve.schema import ServeDeploySchema

from callytics_ray.errors import ConfigError
from deployments._base import BatchedStageConfig, StageDeployment
from deployments.app import DEFAULT_RESOURCES, GATEWAY_SHUTDOWN_MARGIN_S, AppArgs
from deployments.runtime_env import read_requirements, runtime_envs_dir
from tests.serve.conftest import CPU_PROFILE, GPU_CONFIG, app_config, load_config

CONFIGS = {"cpu": CPU_PROFILE, "gpu": GPU_CONFIG}


def _built(config: dict[str, Any]):
    spec = app_config(config)
    module, name = spec["import_path"].split(":")
    builder = getattr(importlib.import_module(module), name)
    return build_serve_app(builder(AppArgs.model_validate(spec["args"])), name=spec["name"])


@pytest.mark.parametrize("profile", sorted(CONFIGS))
def test_config_parses_builds_and_names_every_deployment(profile: str):
    config = load_config(CONFIGS[profile])
    ServeDeploySchema.model_validate(config)
    built = _built(config)
    built_names = {d.name for d in built.deployments}
    configured = {d["name"] for d in app_config(config)["deployments"]}
    assert configured == built_names
    assert built.ingress_deployment_name == "api-gateway"
    assert {
        "audio-processor", "speaker-diarizer", "punctuation-restorer", "sentiment-analyzer", "llm-analyzer",
        "database-service", "api-gateway",
    } <= built_names
    assert len([n for n in built_names if n.startswith("speech-recognizer-")]) == 2  # the A/B arms


def test_cpu_profile_fits_two_cores_without_gpus():
    built = _built(load_config(CPU_PROFILE))
    options = [d.ray_actor_options for d in built.deployments]
    assert sum(o["num_cpus"] for o in options) <= 2.0
    assert all(o.get("num_gpus", 0) == 0 for o in options)
    assert not any("pip" in o.get("runtime_env", {}) for o in options)  # per-stage envs off by default


def test_every_replica_starts_with_few_malloc_arenas_unless_the_config_says_otherwise():
    # The environment is the runtime_env's: glibc reads MALLOC_ARENA_MAX when the process starts.
    config = load_config(CPU_PROFILE)
    envs = {d.name: d.ray_actor_options["runtime_env"]["env_vars"] for d in _built(config).deployments}
    assert all(env["MALLOC_ARENA_MAX"] == "2" and env["HF_HUB_OFFLINE"] == "1" for env in envs.values()), envs
    app_config(config)["args"]["env_vars"] = {"MALLOC_ARENA_MAX": "8"}
    envs = {d.name: d.ray_actor_options["runtime_env"]["env_vars"] for d in _built(config).deployments}
    assert all(env == {"MALLOC_ARENA_MAX": "8"} for env in envs.values()), envs


def test_a_replaced_gateway_may_outlast_its_longest_waiting_client():
    """A rollout stops the old gateway after graceful_shutdown_timeout_s: at least api.wait_timeout_s,
    so a `?wait=true` upload it holds is answered, not cut off (Serve's default is 20 s)."""
    config = load_config(CPU_PROFILE)
    app_config(config)["args"]["settings"].setdefault("api", {})["wait_timeout_s"] = 90
    built = {d.name: d for d in _built(config).deployments}
    gateway = built["api-gateway"]._deployment_config.graceful_shutdown_timeout_s
    assert gateway == 90 + GATEWAY_SHUTDOWN_MARGIN_S
    assert built["speaker-diarizer"]._deployment_config.graceful_shutdown_timeout_s == 20  # stages: Serve's default


def test_gpu_config_packs_fractional_gpus_and_installs_stage_envs():
    config = load_config(GPU_CONFIG)
    built = {d.name: d for d in _built(config).deployments}
    gpus = {name: d.ray_actor_options["num_gpus"] for name, d in built.items()}
    assert gpus["speech-recognizer-large-v3"] == gpus["speech-recognizer-turbo"] == 0.5
    assert gpus["speaker-diarizer"] == 0.25
    assert gpus["punctuation-restorer"] == gpus["sentiment-analyzer"] == 0.125
    assert sum(gpus.values()) == 1.5
    diarizer_env = built["speaker-diarizer"].ray_actor_options["runtime_env"]
    assert "pyannote.audio==4.0.7" in diarizer_env["pip"]["packages"]
    for spec in app_config(config)["deployments"]:
        assert "autoscaling_config" in spec, spec["name"]


def test_every_runtime_env_file_is_pinned():
    directory = runtime_envs_dir()
    files = sorted(directory.glob("*.txt"))
    assert {p.stem for p in files} >= {r.requirements for r in DEFAULT_RESOURCES.values() if r.requirements}
    for path in files:
        assert all("==" in line for line in read_requirements(path.stem, directory))


def test_unpinned_or_missing_runtime_env_fails_the_build(tmp_path: Path):
    (tmp_path / "loose.txt").write_text("faster-whisper>=1.0\n")
    args = {"runtime_envs": ["audio-processor"], "runtime_envs_dir": str(tmp_path),
            "resources": {"audio-processor": {"requirements": "loose"}}}
    with pytest.raises(ConfigError, match="not pinned"):
        _built({"applications": [{"name": "callytics", "import_path": "deployments.app:build_app", "args": args}]})
    with pytest.raises(ConfigError, match="no runtime env file"):
        AppArgs(runtime_envs=True, runtime_envs_dir=tmp_path).actor_options(DEFAULT_RESOURCES["speech-recognizer"])


@pytest.mark.parametrize(
    "args, message",
    [
        ({"settings": {"database_url": "sqlite:///relative.db"}}, "relative"),
        ({"variant_resources": {"nope": {"num_cpus": 1}}}, "unknown variants"),
        ({"runtime_envs": ["speech-recognizer-typo"]}, "unknown deployments"),
        ({"settings": {"asr": {"beam": 3}}}, "beam"),
    ],
)
def test_bad_builder_args_are_refused(args: dict[str, Any], message: str):
    with pytest.raises(ValidationError, match=message):
        AppArgs.model_validate(args)


def test_home_relative_sqlite_url_is_expanded():
    args = AppArgs.model_validate({"settings": {"database_url": "sqlite:///~/calls.db"}})
    assert args.settings["database_url"] == f"sqlite:///{Path.home()}/calls.db"


class _Options(BaseModel):
    threshold: float = 0.5
    language: str | None = None


class _Stage(StageDeployment):
    """A bare StageDeployment: the mixin's user_config handling without Ray or a model."""

    stage = "demo"
    config_model = BatchedStageConfig[_Options]

    def __init__(self, base: _Options) -> None:
        self._base = base
        self.applied = []

    def _settings_options(self) -> _Options:
        return self._base

    def _apply(self, config) -> None:
        self.applied.append(config)


def test_reconfigure_layers_user_config_on_settings_and_refuses_bad_values():
    stage = _Stage(_Options(threshold=0.7, language="ko"))
    stage.reconfigure({"options": {"threshold": 0.9}, "max_batch_size": 8})
    assert stage.config.options == _Options(threshold=0.9, language="ko")
    assert stage.config.max_batch_size == 8
    with pytest.raises(ConfigError, match="threshold"):
        stage.reconfigure({"options": {"threshold": "high"}})
    with pytest.raises(ConfigError, match="max_batch_sise"):
        stage.reconfigure({"max_batch_sise": 8})
    assert stage.config.options.threshold == 0.9 and len(stage.applied) == 1  # the bad ones changed nothing


def test_serve_stages_implements_every_stage_backend_method():
    """ServeStages keeps in step with the orchestrator's protocol (same methods, same parameters)."""
    import inspect

    from callytics_ray.pipeline.backend import StageBackend
    from deployments.serve_stages import ServeStages

    protocol = {n for n, f in vars(StageBackend).items() if inspect.iscoroutinefunction(f)}
    assert protocol >= {"process_audio", "transcribe", "diarize", "punctuate", "classify_sentiment",
                        "analyze_conversation", "stage_models"}
    for name in protocol:
        expected = list(inspect.signature(getattr(StageBackend, name)).parameters)
        actual = getattr(ServeStages, name, None)
        assert actual is not None and inspect.iscoroutinefunction(actual), name
        assert list(inspect.signature(actual).parameters) == expected, name
