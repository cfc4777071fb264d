"""KeyBERT over the shared, locked sentence encoder. A KeyBERT given an object it does not know
falls back to downloading a multilingual model, so the encoder is wrapped in its own embedder
type (imported only where KeyBERT is used)."""

from __future__ import annotations

import numpy as np
from keybert import KeyBERT
from keybert.backend import BaseEmbedder

from callytics_ray.text.encoder import SentenceEncoder


class EncoderBackend(BaseEmbedder):
    """KeyBERT's embedder interface over a SentenceEncoder."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        super().__init__(embedding_model=encoder)
        self._encoder = encoder

    def embed(self, documents: list[str], verbose: bool = False) -> np.ndarray:
        return self._encoder.encode(documents)


def keybert_over(encoder: SentenceEncoder) -> KeyBERT:
    """A KeyBERT that embeds with `encoder` and nothing else."""
    return KeyBERT(model=EncoderBackend(encoder))
