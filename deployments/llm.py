"""LLMAnalyzer deployment: summary, topics, outcome and satisfaction from an OpenAI-protocol endpoint,
or the offline analyzer when none is configured or the endpoint fails."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle

from callytics_ray.errors import LLMError
from callytics_ray.llm import AnalysisOutcome, CallAnalyzer
from callytics_ray.result import QualityResult
from callytics_ray.sentiment import Sentiment
from callytics_ray.settings import LLMOptions
from callytics_ray.types import SpeakerRole, Utterance
from deployments._base import StageConfig, StageDeployment, StageFailure
from deployments.encoder import RemoteEncoder
from deployments.metrics import LLMMetrics


class LLMConfig(StageConfig[LLMOptions]):
    options: LLMOptions = LLMOptions()


@serve.deployment(name="llm-analyzer", max_ongoing_requests=16, ray_actor_options={"num_cpus": 0.1})
class LLMAnalyzerDeployment(StageDeployment):
    """Analyses one call's (redacted) utterances.

    The endpoint (settings.llm.base_url, model) is structural; timeouts, retries, token budget and
    the offline fallback are user_config options.

    Example:
        >>> outcome = unwrap(await handle.analyze.remote(utterances, roles, sentiments, quality))
    """

    stage = "llm"
    config_model = LLMConfig

    def __init__(self, settings: dict[str, Any] | None = None, encoder: DeploymentHandle | None = None) -> None:
        """`encoder`: the sentiment-analyzer, when the offline analyzer embeds with its model
        (the builder decides: LLMSettings.shares_sentiment_encoder); else this replica loads one."""
        self._setup(settings)
        self._analyzer = CallAnalyzer.from_settings(self.settings, RemoteEncoder(encoder) if encoder else None)
        self._llm_metrics = LLMMetrics(self.settings.monitoring.llm_prices)

    def _settings_options(self) -> LLMOptions:
        return self.settings.llm.options

    async def analyze(
        self,
        utterances: Sequence[Utterance],
        roles: Sequence[SpeakerRole],
        sentiments: Sequence[Sentiment] | None = None,
        quality: QualityResult | None = None,
    ) -> AnalysisOutcome | StageFailure:
        outcome = await self._guarded(
            lambda: self._analyzer.analyze(utterances, roles, sentiments, quality, options=self.config.options)
        )
        if isinstance(outcome, AnalysisOutcome):
            self._llm_metrics.record(outcome, model=self.settings.llm.model)
        elif isinstance(outcome.error, LLMError):
            self._llm_metrics.failed(self.settings.llm.model)
        return outcome
