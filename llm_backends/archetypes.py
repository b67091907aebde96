"""Archetypes: one LLM call per cluster of similar instances instead of one per instance.

Clustering is deterministic (no random initialisation), so the same state always yields the
same archetypes, the same prompts and therefore the same cache keys: replay depends on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Archetypes:
    """``labels[i]`` is member i's archetype; ``centroids[k]`` the mean state of archetype k."""

    labels: np.ndarray
    centroids: np.ndarray

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    def sizes(self) -> np.ndarray:
        out: np.ndarray = np.bincount(self.labels, minlength=self.k)
        return out


def cluster(features: np.ndarray, k: int, *, iterations: int = 8) -> Archetypes:
    """Group the rows of ``features`` into at most ``k`` archetypes (k-means, Lloyd's steps).

    Centroids start at evenly spaced ranks of the first feature, so the result depends only on
    the data. ``k = 0`` or ``k >= n`` gives every row its own archetype. Empty archetypes are
    dropped and labels renumbered ``0..k-1`` in order of first appearance along that ranking.

    >>> x = np.array([[0.0], [0.1], [0.9], [1.0]])
    >>> a = cluster(x, 2)
    >>> a.labels.tolist(), a.centroids.ravel().round(2).tolist()
    ([0, 0, 1, 1], [0.05, 0.95])
    """
    features = np.asarray(features, dtype=np.float64)
    n = features.shape[0]
    if n == 0:
        return Archetypes(np.zeros(0, dtype=np.int64), np.zeros((0, features.shape[1])))
    if k <= 0 or k >= n:
        return Archetypes(np.arange(n, dtype=np.int64), features.copy())
    order = np.argsort(features[:, 0], kind="stable")
    centroids = features[order[np.linspace(0, n - 1, k).round().astype(np.int64)]].copy()
    labels = np.zeros(n, dtype=np.int64)
    for _ in range(iterations):
        # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; the |x|^2 term does not change the argmin.
        scores = features @ centroids.T * -2.0 + np.sum(centroids * centroids, axis=1)
        new = np.argmin(scores, axis=1)
        counts = np.bincount(new, minlength=k)
        sums = np.stack([np.bincount(new, weights=col, minlength=k) for col in features.T], axis=1)
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled, None]
        if np.array_equal(new, labels):
            break
        labels = new
    # Renumber densely in ranking order so labels are stable and contiguous.
    used = np.unique(labels[order], return_index=True)
    first_seen = used[0][np.argsort(used[1])]
    remap = np.full(k, -1, dtype=np.int64)
    remap[first_seen] = np.arange(first_seen.size)
    return Archetypes(remap[labels], centroids[first_seen])
