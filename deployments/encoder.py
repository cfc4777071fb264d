"""A TextEncoder that embeds through the deployment holding the sentence encoder.

The llm-analyzer's offline analysis (summary centrality, KeyBERT topics) and the sentiment head use
the same MiniLM; on Serve the sentiment-analyzer replica holds it and the llm-analyzer asks it,
so the app loads the model (and torch, about 350 MB and 5 CPU s per process) once
(`LLMSettings.shares_sentiment_encoder` decides; deployments/app.py wires it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ray.serve.handle import DeploymentHandle

from deployments._base import unwrap


class RemoteEncoder:
    """`encode` over a handle to a deployment with an `encode(texts)` method. Called from the
    stage's worker thread (never on the replica's event loop), so it waits for the answer.

    Example:
        >>> encoder = RemoteEncoder(sentiment_handle)
        >>> encoder.encode(["I was charged twice"]).shape
        (1, 384)
    """

    def __init__(self, handle: DeploymentHandle) -> None:
        self._handle = handle

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        return unwrap(self._handle.encode.remote(list(texts)).result())
