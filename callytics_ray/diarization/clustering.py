"""Speaker clustering of window embeddings with an automatic speaker count and min/max hints."""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from callytics_ray.settings import DiarizationOptions


def cluster_embeddings(
    embeddings: np.ndarray, options: DiarizationOptions, min_speakers: int = 1, max_speakers: int | None = None
) -> np.ndarray:
    """Label each embedding with a speaker index 0..k-1, numbered by first appearance.

    Args:
        embeddings: unit-length window embeddings in time order.  # shape: (num_windows, dim)
        options: clustering method and thresholds.
        min_speakers / max_speakers: bounds on k (honoured as far as there are windows).

    Returns:
        Integer labels.  # shape: (num_windows,)
    """
    count = len(embeddings)
    if count == 0:
        return np.zeros(0, dtype=int)
    low = min(min_speakers, count)
    high = min(max_speakers or max(options.max_auto_speakers, low), count)
    if count == 1 or high == 1:
        return np.zeros(count, dtype=int)
    if options.clustering == "spectral" and count >= 2 * max(low, 2):
        labels = _spectral(embeddings, low, high)
    else:
        labels = _agglomerative(embeddings, options.cluster_threshold, low, high)
    labels = _fold_small_clusters(embeddings, labels, options.min_cluster_share, low)
    labels = _merge_similar(embeddings, labels, options.merge_similarity, low)
    return _renumber(labels)


def centroids(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Unit-length mean embedding of each label.  # shape: (num_labels, dim)"""
    centres = np.stack([embeddings[labels == k].mean(axis=0) for k in range(labels.max() + 1)])
    return centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-8)


def _agglomerative(embeddings: np.ndarray, threshold: float, low: int, high: int) -> np.ndarray:
    tree = linkage(embeddings, method="average", metric="cosine")
    labels = fcluster(tree, t=threshold, criterion="distance")
    found = len(np.unique(labels))
    if found < low:
        labels = fcluster(tree, t=low, criterion="maxclust")
    elif found > high:
        labels = fcluster(tree, t=high, criterion="maxclust")
    return labels - 1


def _spectral(embeddings: np.ndarray, low: int, high: int, prune_keep: float = 0.2) -> np.ndarray:
    """Unnormalised-Laplacian spectral clustering; k from the largest eigengap within [low, high]."""
    from sklearn.cluster import KMeans

    affinity = np.clip(embeddings @ embeddings.T, 0.0, None)
    count = len(affinity)
    # Keep each row's strongest links only: sharpens the block structure the eigengap reads.
    keep = max(6, int(np.ceil(prune_keep * count)))
    pruned = np.zeros_like(affinity)
    rows = np.arange(count)[:, None]
    strongest = np.argsort(-affinity, axis=1)[:, :keep]
    pruned[rows, strongest] = affinity[rows, strongest]
    pruned = 0.5 * (pruned + pruned.T)
    np.fill_diagonal(pruned, 0.0)
    laplacian = np.diag(pruned.sum(axis=1)) - pruned
    eigenvalues, eigenvectors = np.linalg.eigh(laplacian)
    high = min(high, count - 1)
    gaps = np.diff(eigenvalues[: high + 1])  # gaps[i] = lambda_{i+1} - lambda_i
    k = int(np.argmax(gaps[low - 1 : high])) + low
    return KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(eigenvectors[:, :k])


def _fold_small_clusters(embeddings: np.ndarray, labels: np.ndarray, min_share: float, low: int) -> np.ndarray:
    labels = _renumber(labels)
    sizes = np.bincount(labels)
    order = np.argsort(sizes)  # smallest first
    for small in order:
        if len(np.unique(labels)) <= low or sizes[small] >= min_share * len(labels):
            break
        others = [k for k in np.unique(labels) if k != small]
        centres = {k: embeddings[labels == k].mean(axis=0) for k in others}
        for index in np.flatnonzero(labels == small):
            labels[index] = max(others, key=lambda k: float(embeddings[index] @ centres[k]))
    return labels


def _merge_similar(embeddings: np.ndarray, labels: np.ndarray, min_similarity: float, low: int) -> np.ndarray:
    labels = _renumber(labels)
    while labels.max() + 1 > low:
        centres = centroids(embeddings, labels)
        similarity = centres @ centres.T
        np.fill_diagonal(similarity, -1.0)
        a, b = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
        if similarity[a, b] < min_similarity:
            break
        labels = _renumber(np.where(labels == b, a, labels))
    return labels


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Labels 0..k-1 in order of first appearance."""
    mapping: dict[int, int] = {}
    for label in labels:
        mapping.setdefault(int(label), len(mapping))
    return np.array([mapping[int(label)] for label in labels], dtype=int)
