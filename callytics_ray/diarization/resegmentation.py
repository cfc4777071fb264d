"""From clustered windows to speaker turns: frame-level re-assignment, smoothing, overlap."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from callytics_ray.types import SpeakerTurn

FRAME_S = 0.02


def speaker_label(index: int) -> str:
    return f"SPEAKER_{index:02d}"


def frame_scores(
    duration_s: float,
    windows: Sequence[tuple[float, float]],
    embeddings: np.ndarray,
    centres: np.ndarray,
) -> np.ndarray:
    """Mean similarity of the windows covering each frame to each speaker centroid.

    Re-assigning frames from the windows that cover them (rather than keeping each window's hard
    label) puts speaker changes where the evidence flips instead of on the window grid.

    Returns:
        Scores, NaN where no window covers a frame.  # shape: (num_frames, num_speakers)
    """
    num_frames = int(np.ceil(duration_s / FRAME_S))
    totals = np.zeros((num_frames, len(centres)))
    hits = np.zeros((num_frames, 1))
    similarity = embeddings @ centres.T  # shape: (num_windows, num_speakers)
    for (start, end), row in zip(windows, similarity, strict=True):
        first, last = int(start / FRAME_S), min(num_frames, int(np.ceil(end / FRAME_S)))
        totals[first:last] += row
        hits[first:last] += 1
    with np.errstate(invalid="ignore"):
        return totals / hits


def speech_mask(duration_s: float, regions: Sequence[tuple[float, float]]) -> np.ndarray:
    """True on frames inside any speech region.  # shape: (num_frames,)"""
    mask = np.zeros(int(np.ceil(duration_s / FRAME_S)), dtype=bool)
    for start, end in regions:
        mask[int(start / FRAME_S) : int(np.ceil(end / FRAME_S))] = True
    return mask


def assign_frames(scores: np.ndarray, speech: np.ndarray, min_turn_s: float) -> np.ndarray:
    """Best speaker per speech frame (-1 elsewhere), with flips shorter than `min_turn_s` removed."""
    labels = np.full(len(speech), -1, dtype=int)
    covered = speech & ~np.isnan(scores).any(axis=1)
    labels[covered] = np.argmax(scores[covered], axis=1)
    return smooth_short_runs(labels, int(round(min_turn_s / FRAME_S)))


def smooth_short_runs(labels: np.ndarray, min_frames: int) -> np.ndarray:
    """Give each speaker run shorter than `min_frames` to a neighbouring speaker.

    Runs are taken over speech frames only (silence between two runs of the same speaker does
    not protect a short flip between them); the shortest run is fixed first, and it goes to the
    neighbour on its side that is longer.
    """
    labels = labels.copy()
    speech_index = np.flatnonzero(labels >= 0)
    if min_frames <= 1 or len(speech_index) == 0:
        return labels
    sequence = labels[speech_index]
    while True:
        runs = _runs(sequence)
        if len(runs) <= 1:
            break
        lengths = [end - start for start, end, _ in runs]
        shortest = int(np.argmin(lengths))
        if lengths[shortest] >= min_frames:
            break
        start, end, _ = runs[shortest]
        left = runs[shortest - 1] if shortest > 0 else None
        right = runs[shortest + 1] if shortest + 1 < len(runs) else None
        candidates = [r for r in (left, right) if r is not None]
        target = max(candidates, key=lambda r: r[1] - r[0])
        sequence[start:end] = target[2]
    labels[speech_index] = sequence
    return labels


def _runs(sequence: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, end, value) of maximal runs of equal values."""
    if len(sequence) == 0:
        return []
    cuts = np.flatnonzero(np.diff(sequence)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(sequence)]])
    return [(int(s), int(e), int(sequence[s])) for s, e in zip(starts, ends, strict=True)]


def overlap_speakers(
    labels: np.ndarray, scores: np.ndarray, overlap: np.ndarray, min_overlap_s: float = 0.1, frame_s: float = FRAME_S
) -> np.ndarray:
    """Second speaker of each overlap frame (-1 where nobody overlaps).

    Args:
        labels: primary speaker per frame.
        scores: per-frame speaker scores.  # shape: (num_frames, num_speakers)
        overlap: frames where the segmentation model hears two or more voices.
    """
    second = np.full(len(labels), -1, dtype=int)
    if scores.shape[1] < 2:
        return second
    candidate = overlap & (labels >= 0) & ~np.isnan(scores).any(axis=1)
    for start, end, value in _runs(candidate.astype(int)):
        if value == 0 or (end - start) * frame_s < min_overlap_s:
            continue
        block = scores[start:end]
        not_primary = np.ones_like(block, dtype=bool)
        not_primary[np.arange(end - start), labels[start:end]] = False
        # One second speaker per overlap region: the runner-up over the whole region.
        means = (block * not_primary).sum(axis=0) / np.maximum(not_primary.sum(axis=0), 1)
        means[not_primary.sum(axis=0) == 0] = -np.inf
        runner_up = int(np.argmax(means))
        second[start:end] = np.where(labels[start:end] == runner_up, -1, runner_up)
    return second


def frames_to_turns(
    labels: np.ndarray, second: np.ndarray, merge_gap_s: float, frame_s: float = FRAME_S, offset_s: float = 0.0
) -> list[SpeakerTurn]:
    """Speaker turns from per-frame primary and secondary labels.

    A pause shorter than `merge_gap_s` inside one speaker's talk is bridged when no other
    speaker talks in it (annotators mark a sentence with a breath in it as one turn).
    """
    turns: list[SpeakerTurn] = []
    speakers = sorted({int(v) for v in np.concatenate([labels, second]) if v >= 0})
    anyone = (labels >= 0) | (second >= 0)
    gap_frames = int(round(merge_gap_s / frame_s))
    for speaker in speakers:
        active = (labels == speaker) | (second == speaker)
        runs = [(s, e) for s, e, v in _runs(active.astype(int)) if v == 1]
        merged: list[list[int]] = []
        for start, end in runs:
            if merged and start - merged[-1][1] <= gap_frames and not anyone[merged[-1][1] : start].any():
                merged[-1][1] = end
            else:
                merged.append([start, end])
        turns.extend(
            SpeakerTurn(round(offset_s + s * frame_s, 3), round(offset_s + e * frame_s, 3), speaker_label(speaker))
            for s, e in merged
        )
    return sorted(turns, key=lambda t: (t.start, t.end, t.speaker))
