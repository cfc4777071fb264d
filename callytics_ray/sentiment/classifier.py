"""Per-utterance sentiment: the configured backend behind one interface."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import accumulate
from typing import Protocol

import numpy as np

from callytics_ray.devices import torch_device
from callytics_ray.failures import StageFailure, attempt
from callytics_ray.model_store import resolve_model
from callytics_ray.sentiment.lexicon import LexiconScorer
from callytics_ray.settings import SentimentOptions, Settings
from callytics_ray.types import Sentiment

logger = logging.getLogger(__name__)

STAGE = "sentiment"


class ProbabilityModel(Protocol):
    name: str

    def probabilities(self, texts: list[str]) -> np.ndarray: ...


class SentimentClassifier:
    """Labels texts negative, neutral or positive with a signed score.

    Example:
        >>> classifier = SentimentClassifier.from_settings(Settings())
        >>> classifier.classify(["I was charged twice, I'm really upset."])[0].label
        'negative'
    """

    def __init__(self, model: ProbabilityModel | None = None, *, lexicon: LexiconScorer | None = None) -> None:
        if model is None and lexicon is None:
            raise ValueError("a SentimentClassifier needs a model or a lexicon")
        self._model = model
        self._lexicon = lexicon

    @classmethod
    def from_settings(cls, settings: Settings) -> SentimentClassifier:
        """Build the classifier `settings.sentiment` describes.

        Raises:
            ModelNotFoundError: the configured checkpoint or encoder is missing.
        """
        config = settings.sentiment
        if config.model is not None:
            from callytics_ray.sentiment.transformer import TransformerSentiment

            path = resolve_model(config.model, kind="sentiment", cache_dir=settings.cache_dir, offline=settings.offline)
            return cls(TransformerSentiment(path, device=torch_device(config.device), batch_size=config.batch_size))
        if config.method == "lexicon":
            return cls(lexicon=LexiconScorer())
        from callytics_ray.sentiment.head import EmbeddingHead

        encoder = resolve_model(
            config.embedding_model, kind="sentence-embedding", cache_dir=settings.cache_dir, offline=settings.offline
        )
        head = EmbeddingHead(
            encoder, encoder_name=_ref_name(config.embedding_model), use_lexicon=config.method == "combined",
            cache_dir=settings.cache_dir, device=config.device, runtime=config.encoder_runtime, batch_size=config.batch_size,
        )
        return cls(head)

    @property
    def method(self) -> str:
        """Which backend labels texts, e.g. "combined:model" or "lexicon"."""
        return self._model.name if self._model is not None else "lexicon"

    def classify(self, texts: Sequence[str], options: SentimentOptions | None = None) -> tuple[Sentiment, ...]:
        """One Sentiment per text, in order (empty text is neutral)."""
        options = options or SentimentOptions()
        texts = [t.strip() for t in texts]
        results: list[Sentiment | None] = [
            Sentiment("neutral", 0.0, (0.0, 1.0, 0.0)) if not t else None for t in texts
        ]
        pending = [i for i, t in enumerate(texts) if t]
        if self._model is not None:
            probs = self._model.probabilities([texts[i] for i in pending])
            for i, p in zip(pending, probs, strict=True):
                results[i] = Sentiment.from_probabilities(tuple(p))
        else:
            for i in pending:
                results[i] = self._lexicon.classify(texts[i], neutral_band=options.neutral_band)
        return tuple(r for r in results if r is not None)

    def classify_batch(
        self, calls: Sequence[Sequence[str]], options: SentimentOptions | None = None
    ) -> list[tuple[Sentiment, ...] | StageFailure]:
        """Several calls' texts in one encoder pass; one result per call, in order.

        Length-preserving for Serve's `@serve.batch`. The calls share the pass, so under the batch
        rule of `callytics_ray.failures` a failure of the pass is every call's failure.
        """
        labels = attempt(STAGE, lambda: self.classify([text for call in calls for text in call], options))
        if isinstance(labels, StageFailure):
            return [labels] * len(calls)
        ends = list(accumulate(len(call) for call in calls))
        return [labels[end - len(call) : end] for call, end in zip(calls, ends, strict=True)]


def _ref_name(ref: str) -> str:
    # "bundled:all-MiniLM-L6-v2" -> "all-MiniLM-L6-v2"; "/models/e5-small/" -> "e5-small"
    return ref.removeprefix("bundled:").rstrip("/").split("/")[-1] or ref
