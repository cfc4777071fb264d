"""A logistic-regression sentiment head over all-MiniLM-L6-v2 sentence embeddings, optionally with
lexicon features, trained on the shipped sentences at first use and cached by data hash."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from callytics_ray.sentiment.lexicon import LexiconScorer
from callytics_ray.sentiment.training import LabelledSentence, data_hash, load_training_set
from callytics_ray.settings import EncoderRuntime
from callytics_ray.text.encoder import load_sentence_encoder
from callytics_ray.types import SENTIMENT_LABELS

logger = logging.getLogger(__name__)

# Bump when features or training change, so stale cached heads are not reused.
_HEAD_VERSION = 1
_C = 2.0  # inverse regularisation; chosen on a split of the training set, never on the evaluation set


class EmbeddingHead:
    """Three-way sentiment probabilities from sentence embeddings (+ lexicon features).

    Example:
        >>> head = EmbeddingHead(encoder_dir, encoder_name="all-MiniLM-L6-v2", use_lexicon=True, cache_dir=Path("~/.cache/callytics"))
        >>> head.probabilities(["I was charged twice and I'm upset."])  # (negative, neutral, positive)
    """

    def __init__(
        self,
        encoder_dir: Path,
        *,
        encoder_name: str | None = None,
        use_lexicon: bool,
        cache_dir: Path,
        device: str = "cpu",
        runtime: EncoderRuntime = "auto",
        batch_size: int = 32,
        training: tuple[LabelledSentence, ...] | None = None,
    ) -> None:
        encoder_name = encoder_name or encoder_dir.name
        self.name = f"{'combined' if use_lexicon else 'embedding'}:{encoder_name}"
        # Shared with the offline analyzer in the same process (one copy of the model).
        self._encoder = load_sentence_encoder(encoder_dir, device, runtime=runtime, cache_dir=cache_dir)
        self._lexicon = LexiconScorer() if use_lexicon else None
        self._batch_size = batch_size
        training = training or load_training_set()
        key = f"head-v{_HEAD_VERSION}-{'lex' if use_lexicon else 'emb'}-{encoder_name}-{data_hash(training)}"
        self._weights = self._load_or_train(cache_dir / "sentiment" / f"{key}.npz", training)

    def features(self, texts: list[str]) -> np.ndarray:
        """Embeddings (and lexicon features).  # shape: (len(texts), 384 [+ 6])"""
        emb = self._encoder.encode(texts, batch_size=self._batch_size)
        if self._lexicon is None:
            return emb
        return np.concatenate([emb, self._lexicon.features(texts)], axis=1)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """(negative, neutral, positive) probabilities per text.  # shape: (len(texts), 3)"""
        if not texts:
            return np.zeros((0, 3), dtype=np.float32)
        w = self._weights
        x = (self.features(texts) - w["mean"]) / w["std"]
        logits = x @ w["coef"].T + w["intercept"]
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return probs / probs.sum(axis=1, keepdims=True)

    def _load_or_train(self, path: Path, training: tuple[LabelledSentence, ...]) -> dict[str, np.ndarray]:
        if path.exists():
            with np.load(path) as data:
                return {k: data[k] for k in data.files}
        weights = self._train(training)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
        np.savez(partial, **weights)
        os.replace(partial, path)  # atomic: replicas starting together never read half a file
        return weights

    def _train(self, training: tuple[LabelledSentence, ...]) -> dict[str, np.ndarray]:
        from sklearn.linear_model import LogisticRegression

        logger.info("training sentiment head %s on %d sentences", self.name, len(training))
        x = self.features([s.text for s in training])
        y = np.array([SENTIMENT_LABELS.index(s.label) for s in training])
        mean = x.mean(axis=0)
        std = x.std(axis=0) + 1e-6
        model = LogisticRegression(C=_C, max_iter=2000, class_weight="balanced")
        model.fit((x - mean) / std, y)
        if list(model.classes_) != [0, 1, 2]:
            raise ValueError("the sentiment training set must hold all three labels")
        return {
            "mean": mean.astype(np.float32),
            "std": std.astype(np.float32),
            "coef": model.coef_.astype(np.float32),
            "intercept": model.intercept_.astype(np.float32),
        }
