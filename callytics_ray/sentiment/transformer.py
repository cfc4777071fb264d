"""Production sentiment: a transformers sequence-classification checkpoint by name or path."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np

from callytics_ray.errors import ModelNotFoundError


def label_matrix(id2label: dict[int, str]) -> np.ndarray:
    """How each model label maps onto (negative, neutral, positive).  # shape: (num_labels, 3)

    Understands names (negative/neutral/positive, NEG/NEU/POS), star ratings ("1 star" ..
    "5 stars") and anonymous LABEL_k for two (neg, pos) or three (neg, neu, pos) labels.
    """
    n = len(id2label)
    matrix = np.zeros((n, 3), dtype=np.float32)
    for index in range(n):
        name = str(id2label[index]).lower()
        stars = re.match(r"(\d)\s*star", name)
        if "neg" in name:
            matrix[index, 0] = 1
        elif "neu" in name:
            matrix[index, 1] = 1
        elif "pos" in name:
            matrix[index, 2] = 1
        elif stars:
            matrix[index, 0 if int(stars.group(1)) <= 2 else 1 if int(stars.group(1)) == 3 else 2] = 1
        elif re.fullmatch(r"label_\d+", name) and n in (2, 3):
            matrix[index, (0, 2)[index] if n == 2 else index] = 1
        else:
            raise ValueError(f"cannot map sentiment label {id2label[index]!r} to negative/neutral/positive")
    return matrix


class TransformerSentiment:
    """Sentiment probabilities from a sequence-classification checkpoint.

    Example:
        >>> model = TransformerSentiment(Path("/models/twitter-xlm-roberta-base-sentiment"))
        >>> model.probabilities(["I am upset."])
    """

    def __init__(self, model_dir: Path, *, device: str = "cpu", batch_size: int = 32) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self._tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
            self._model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).to(device).eval()
            self._matrix = label_matrix({int(k): v for k, v in self._model.config.id2label.items()})
        except (OSError, ValueError) as err:
            raise ModelNotFoundError(str(model_dir), "sentiment", f"cannot load it: {err}") from err
        self.name = f"transformer:{model_dir.name}"
        self._device = device
        self._batch_size = batch_size
        self._lock = threading.Lock()

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """(negative, neutral, positive) per text.  # shape: (len(texts), 3)"""
        import torch

        out = []
        with self._lock, torch.inference_mode():
            for i in range(0, len(texts), self._batch_size):
                batch = self._tokenizer(
                    texts[i : i + self._batch_size], padding=True, truncation=True, max_length=256, return_tensors="pt"
                ).to(self._device)
                probs = torch.softmax(self._model(**batch).logits.float(), dim=-1).cpu().numpy()
                out.append(probs @ self._matrix)
        return np.concatenate(out) if out else np.zeros((0, 3), dtype=np.float32)
