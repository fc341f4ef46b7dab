"""ViLAMP differential keyframe selection (DKS): relevant frames that do not repeat each other.

The reference code (steven-ccq/ViLAMP) builds the full N x N frame similarity matrix, 400 MB in
float32 for a 3-hour video at 1 fps. Redundancy only ever needs the similarities of the (at most
K) *selected* frames to all frames, so this computes ``embeddings @ embeddings[i]`` once per
selected frame i: O(N K) time and O(N) extra memory, never the N x N matrix.
"""

from __future__ import annotations

import heapq
import math
import numbers
from dataclasses import dataclass

import numpy as np

from framesift.errors import InputError
from framesift.select.base import SelectionRequest, uniform_indices


@dataclass(frozen=True)
class DKSSelector:
    """Visit frames by decreasing relevance; keep one unless an earlier keeper looks like it.

    ``relevance_floor`` (tau_rel) stops the visit at frames too unrelated to the query;
    ``redundancy_ceiling`` (tau_red): picking frame i marks every j with cos(f_i, f_j) above it
    redundant. Defaults are the reference's values for CLIP ViT-B/32 cosines; the pipeline
    passes per-encoder values by these keyword names. Budget left over (too few relevant,
    non-redundant frames) goes to the longest temporal gaps, so the answerer still sees the rest
    of the video; if no frame clears the floor the result is uniform sampling.
    """

    relevance_floor: float = 0.2
    redundancy_ceiling: float = 0.85

    def __post_init__(self) -> None:
        for name in ("relevance_floor", "redundancy_ceiling"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise InputError(f"DKS {name} must be a finite number, got {value!r}")

    def select(self, request: SelectionRequest) -> np.ndarray:
        keyframes = self.select_relevant(request)
        if keyframes.size == 0:
            return uniform_indices(request.size, request.k)
        return fill_gaps(np.sort(keyframes), request.size, request.k)

    def select_relevant(self, request: SelectionRequest) -> np.ndarray:
        """Steps 1-3 of DKS: the relevance-chosen keyframes, in the order they were chosen.

        Separate from ``select`` so callers can tell query evidence from coverage filler.
        """
        rel, k = request.relevance, request.k
        emb = np.asarray(request.embeddings)  # (N, D) unit norm
        order = np.argsort(-rel, kind="stable")  # (N,) decreasing relevance, ties by index
        candidates = order[rel[order] >= self.relevance_floor]  # visit stops below the floor
        redundant = np.zeros(rel.shape[0], dtype=bool)  # (N,)
        picked: list[int] = []
        pos = 0
        while len(picked) < k and pos < candidates.size:
            free = ~redundant[candidates[pos:]]  # skip frames an earlier pick made redundant
            if not free.any():
                break
            pos += int(free.argmax())
            i = int(candidates[pos])
            picked.append(i)
            redundant |= emb @ emb[i] > self.redundancy_ceiling  # (N,) cosines to frame i only
            pos += 1
        return np.asarray(picked, dtype=np.int64)


def fill_gaps(selected: np.ndarray, n: int, k: int) -> np.ndarray:
    """Add ``k - len(selected)`` frames spread evenly through the longest temporal gaps.

    Gaps include the stretches before the first and after the last selected frame: they are
    measured between neighbours, with virtual neighbours at -1 and ``n``, so a gap of span L holds
    L - 1 free frames. Each extra frame goes to the gap whose current sub-gaps are longest
    (span / (frames given + 1), earlier gap on ties); this greedy minimises the longest gap left.
    Frames given to a gap sit at ``a + floor(j * L / (m + 1))``, j = 1..m, which are distinct free
    frames because m <= L - 1.
    """
    selected = np.asarray(selected, dtype=np.int64)  # (S,) sorted, unique
    bounds = np.concatenate(([-1], selected, [n]))  # (S + 2,)
    spans = np.diff(bounds)  # (S + 1,)
    given = np.zeros(spans.size, dtype=np.int64)
    heap = [(-float(span), g) for g, span in enumerate(spans.tolist()) if span > 1]
    heapq.heapify(heap)
    for _ in range(k - selected.size):
        _, g = heapq.heappop(heap)  # never empty: free frames n - S >= k - S
        given[g] += 1
        if given[g] < spans[g] - 1:
            heapq.heappush(heap, (-spans[g] / (given[g] + 1), g))
    extra = [
        bounds[g] + spans[g] * np.arange(1, m + 1, dtype=np.int64) // (m + 1)
        for g, m in enumerate(given.tolist())
        if m
    ]
    return np.sort(np.concatenate([selected, *extra])).astype(np.int64)
