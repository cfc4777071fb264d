"""PunctuationRestorer and SentimentAnalyzer deployments over the core's NLP stages."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
from pydantic import Field
from ray import serve

from callytics_ray.punctuation import Punctuator
from callytics_ray.sentiment import Sentiment, SentimentClassifier
from callytics_ray.settings import PunctuationOptions, SentimentOptions
from callytics_ray.text.encoder import shared_encoder
from callytics_ray.types import Utterance
from deployments._base import BatchedStageConfig, StageConfig, StageDeployment, StageFailure


class PunctuationConfig(StageConfig[PunctuationOptions]):
    options: PunctuationOptions = PunctuationOptions()


class SentimentConfig(BatchedStageConfig[SentimentOptions]):
    """user_config of the sentiment-analyzer: options, and how many concurrent calls' utterances
    share one encoder pass."""

    options: SentimentOptions = SentimentOptions()
    max_batch_size: int = Field(8, ge=1, le=256)
    batch_wait_timeout_s: float = Field(0.02, ge=0.0, le=10.0)


@serve.deployment(name="punctuation-restorer", max_ongoing_requests=16, ray_actor_options={"num_cpus": 0.1})
class PunctuationRestorerDeployment(StageDeployment):
    """Restores punctuation and casing where the transcript lost it (settings.punctuation.model
    picks deepmultilingualpunctuation or the offline pause method).

    Example:
        >>> punctuated = unwrap(await handle.restore.remote(utterances, "en"))
    """

    stage = "punctuation"
    config_model = PunctuationConfig

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self._setup(settings)
        self._punctuator = Punctuator.from_settings(self.settings)

    def _settings_options(self) -> PunctuationOptions:
        return self.settings.punctuation.options

    async def model_name(self) -> str:
        return self._punctuator.method

    async def restore(self, utterances: Sequence[Utterance], language: str | None) -> tuple[Utterance, ...] | StageFailure:
        """The utterances with punctuation restored; words keep their timings."""
        return await self._guarded(
            lambda: self._punctuator.restore(utterances, language=language, options=self.config.options)
        )


@serve.deployment(name="sentiment-analyzer", max_ongoing_requests=16, ray_actor_options={"num_cpus": 0.2})
class SentimentAnalyzerDeployment(StageDeployment):
    """One sentiment label and score per utterance text; the utterances of concurrent calls are
    classified together (@serve.batch), one encoder pass for all of them.

    Example:
        >>> sentiments = unwrap(await handle.classify.remote(["thanks, that fixed it"]))
    """

    stage = "sentiment"
    config_model = SentimentConfig

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self._setup(settings)
        self._classifier = SentimentClassifier.from_settings(self.settings)

    def _settings_options(self) -> SentimentOptions:
        return self.settings.sentiment.options

    def _apply(self, config: SentimentConfig) -> None:
        self._classify_together.set_max_batch_size(config.max_batch_size)
        self._classify_together.set_batch_wait_timeout_s(config.batch_wait_timeout_s)

    async def model_name(self) -> str:
        return self._classifier.method

    async def encode(self, texts: Sequence[str]) -> np.ndarray | StageFailure:
        """Sentence embeddings from this replica's encoder (the one its head uses), for the
        llm-analyzer's offline analysis: one copy of the model in the app (deployments/encoder.py)."""
        # Not a sentiment request: the llm-analyzer's (or drivers') metrics count this work.
        return await self._guarded(lambda: shared_encoder(self.settings).encode(texts), record=False)

    async def classify(self, texts: Sequence[str]) -> tuple[Sentiment, ...] | StageFailure:
        """One Sentiment per text, in order, or a StageFailure for the caller to raise."""
        return await self._submit(self._classify_together, list(texts))

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.02)
    async def _classify_together(self, calls: list[list[str]]) -> list[tuple[Sentiment, ...] | StageFailure]:
        return await self._run_batch(partial(self._classifier.classify_batch, options=self.config.options), calls)
