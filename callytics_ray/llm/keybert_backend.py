"""KeyBERT over the shared, locked sentence encoder. A KeyBERT given an object it does not know
falls back to downloading a multilingual model, so the encoder is wrapped in its own embedder
type (imported only where KeyBERT is used).

KeyBERT's package imports sentence-transformers and transformers, and with them torch, for an
embedding backend and a text-generation LLM this module never uses (about 300 MB and 5 s per
process). Where this process has not imported them already (on Serve the llm-analyzer embeds
through the sentiment-analyzer's replica and needs no torch), those imports are skipped: keybert
then marks the two as not installed, as it does on an install without them, and the process's
later imports of them work as usual.
"""

from __future__ import annotations

import importlib
import sys

import numpy as np


_UNUSED_BY_KEYBERT_HERE = ("sentence_transformers", "transformers")


def _import_keybert_without_torch() -> None:
    if "keybert" in sys.modules:
        return
    skipped = [name for name in _UNUSED_BY_KEYBERT_HERE if name not in sys.modules]
    for name in skipped:
        sys.modules[name] = None  # type: ignore[assignment]  # import -> ModuleNotFoundError
    try:
        importlib.import_module("keybert")
    finally:
        for name in skipped:
            del sys.modules[name]


_import_keybert_without_torch()

from keybert import KeyBERT  # noqa: E402
from keybert.backend import BaseEmbedder  # noqa: E402

from callytics_ray.text.encoder import TextEncoder


class EncoderBackend(BaseEmbedder):
    """KeyBERT's embedder interface over a TextEncoder."""

    def __init__(self, encoder: TextEncoder) -> None:
        super().__init__(embedding_model=encoder)
        self._encoder = encoder

    def embed(self, documents: list[str], verbose: bool = False) -> np.ndarray:
        return self._encoder.encode(documents)


def keybert_over(encoder: TextEncoder) -> KeyBERT:
    """A KeyBERT that embeds with `encoder` and nothing else."""
    return KeyBERT(model=EncoderBackend(encoder))
