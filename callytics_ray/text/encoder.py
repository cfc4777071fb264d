"""The sentence encoder (all-MiniLM-L6-v2 by default), loaded once per process and shared by every
user in it: the sentiment head, the offline analyzer's summary and keyphrases, and call drivers.

Users take a `TextEncoder`: this process's SentenceEncoder, or (on Serve) one that asks the replica
holding the model, so that the app loads the model and torch once (deployments/encoder.py)."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from callytics_ray.settings import Settings

logger = logging.getLogger(__name__)


class TextEncoder(Protocol):
    """What users of sentence embeddings need: L2-normalised rows, one per text."""

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray: ...


class SentenceEncoder:
    """A SentenceTransformer behind one lock: `encode` is not safe across threads, and users in
    one process share the model (one copy in memory, one load).

    Example:
        >>> encoder = load_sentence_encoder(resolve_model("bundled:all-MiniLM-L6-v2", ...), "cpu")
        >>> encoder.encode(["I was charged twice"]).shape
        (1, 384)
    """

    def __init__(self, path: Path, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer

        self.path = path
        self.device = device
        self._model = SentenceTransformer(str(path), device=device)
        self._lock = threading.Lock()
        logger.info("loaded sentence encoder %s on %s", path.name, device)

    @property
    def dimension(self) -> int:
        return int(self._model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """L2-normalised embeddings, one row per text.  # shape: (len(texts), dimension)"""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            emb = self._model.encode(
                texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(emb, dtype=np.float32).reshape(len(texts), -1)


@functools.lru_cache(maxsize=4)
def load_sentence_encoder(path: Path, device: str = "cpu") -> SentenceEncoder:
    """The process's encoder for a resolved model directory and device (loaded on first use)."""
    return SentenceEncoder(Path(path), device)


def shared_encoder(settings: Settings) -> SentenceEncoder:
    """This process's copy of the encoder that the offline analyzer, call drivers and (when they
    name the same model) the sentiment head share: `settings.llm.offline_encoder`.

    Raises:
        ModelNotFoundError: the encoder is not available.
    """
    from callytics_ray.devices import torch_device
    from callytics_ray.model_store import resolve_model

    ref, device = settings.llm.offline_encoder(settings.sentiment)
    path = resolve_model(ref, kind="sentence-embedding", cache_dir=settings.cache_dir, offline=settings.offline)
    return load_sentence_encoder(path, torch_device(device))
