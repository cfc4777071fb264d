"""The api-gateway ingress: the core FastAPI app (callytics_ray.api) with a runner whose stages
are deployment handles."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict
from ray import serve
from ray.serve.handle import DeploymentHandle

from callytics_ray.api import LocalRunner, VariantPicker, create_app
from callytics_ray.errors import ConfigError
from callytics_ray.pipeline import RetryPolicy
from callytics_ray.settings import AsrVariant
from deployments._base import StageDeployment
from deployments.backfill import RayChunkExecutor
from deployments.database import ServeCallStore
from deployments.encoder import RemoteEncoder
from deployments.metrics import StageMetrics
from deployments.serve_stages import ServeStages, StageHandles

logger = logging.getLogger("ray.serve")

# A stage replica that died is replaced by Serve in a few seconds (process start + model load):
# retry long enough to reach the new one (1 + 2 + 4 s of backoff) before recording a failure.
SERVE_RETRY = RetryPolicy(attempts=4, backoff_s=1.0, max_backoff_s=8.0)


class GatewayConfig(BaseModel):
    """user_config of the api-gateway.

    Attributes:
        variant_weights: share of new calls per speech-recognizer variant; the names must be
            exactly the variants the application was built with (settings.api.variants).
            None keeps the weights of the settings.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    variant_weights: dict[str, float] | None = None


@serve.deployment(name="api-gateway", max_ongoing_requests=64, ray_actor_options={"num_cpus": 0.2})
@serve.ingress()
class GatewayDeployment(StageDeployment):
    """HTTP ingress: uploads are stored, then run by a LocalRunner over ServeStages.

    The routes, auth, rate limits, error codes and /v1/experiments are the core app's
    (`callytics_ray.api.create_app`); this class only supplies the Serve-backed runner, store and
    backfill executor (Ray actors) and applies user_config (A/B weights) live.
    """

    stage = "gateway"
    config_model = GatewayConfig

    def __init__(
        self,
        settings: dict[str, Any] | None = None,
        *,
        database: DeploymentHandle,
        **stage_handles: Any,
    ) -> None:
        self._setup(settings)
        self.stages = ServeStages(StageHandles(**stage_handles))
        self.store = ServeCallStore(self.settings.database_url, database)
        self.picker = VariantPicker.from_settings(self.settings)
        self.runner = LocalRunner(self.stages, self.store, self.settings, hook=StageMetrics(), retry=SERVE_RETRY)
        # Call drivers embed through the sentiment-analyzer's encoder where it is the same model,
        # so this replica loads no torch (deployments/encoder.py).
        shares = self.settings.llm.shares_sentiment_encoder(self.settings.sentiment)
        self.encoder = RemoteEncoder(stage_handles["sentiment"]) if shares else None
        self._app: FastAPI | None = None

    def __serve_build_asgi_app__(self) -> FastAPI:
        # Backfill jobs run on the cluster this replica runs on: Ray actors compute the chunks,
        # this replica drives the job and writes each chunk through the database service.
        backfill = self.settings.backfill
        executor = RayChunkExecutor(self.settings.database_url, workers=backfill.workers, num_cpus=backfill.worker_cpus,
                                    settings=self.settings)
        self._app = create_app(self.settings, self.store, self.runner, variant_picker=self.picker,
                               backfill_executor=executor, encoder=self.encoder)
        return self._app

    def _apply(self, config: GatewayConfig) -> None:
        if config.variant_weights is not None:
            _reweight(self.picker, config.variant_weights)

    def _check(self) -> None:
        super()._check()
        if self._app is None:
            raise RuntimeError("gateway app not built yet")


def _reweight(picker: VariantPicker | None, weights: dict[str, float]) -> None:
    """Give the picker new weights in place (the app holds it); the variant names must not change.

    Raises:
        ConfigError: no variants configured, other names, or no positive weight.
    """
    if picker is None:
        raise ConfigError("variant_weights given, but the application has no settings.api.variants")
    known = {v.name: v for v in picker.variants}
    if set(weights) != set(known):
        raise ConfigError(f"variant_weights must name exactly the variants {sorted(known)}, got {sorted(weights)}")
    picker.set_variants([AsrVariant(name=n, weight=w, asr_model=known[n].asr_model) for n, w in weights.items()])
