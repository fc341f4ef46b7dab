"""BOLT (Liu et al., CVPR 2025): inverse transform sampling of frames by query relevance.

Sampling relevance as a density spends most of the budget where the query matches while still
reaching weaker regions, instead of top-k's all-or-nothing. Follows the public reference,
``inverse_transform_sampling`` in sming256/BOLT ``select_frames.py``:

- min-max normalise the scores to [0, 1], raise them to ``alpha``, divide by their sum, cumsum;
- sample K points ``linspace(1/K, 1 - 1/K, K)`` of the CDF and map each to the first frame whose
  CDF reaches it (``searchsorted``, left side);
- ``alpha`` default 3: the reference's demo default and its Video-MME/MLVU setting (its
  LongVideoBench runs use 2.5).

Where framesift differs, and why:

- The reference keeps duplicate indices (the model sees a frame twice); framesift returns each
  frame once and refills the budget: a repeated sample moves to the nearest frame not yet taken
  (the one with the higher weight when two are equally near, then the earlier), so the extra
  samples stay where the distribution put them and exactly min(K, N) frames come back.
- K = 1: the reference's ``linspace(1, 0, 1)`` is [1.0], the last frame with any weight (or out
  of bounds after rounding); framesift samples the median, 0.5.
- Constant relevance: the reference divides by zero; framesift samples uniformly.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from framesift.errors import InputError
from framesift.select.base import SelectionRequest, uniform_indices


@dataclass(frozen=True)
class BOLTSelector:
    """Quantiles of the sharpened relevance distribution; ``alpha`` > 1 concentrates on peaks."""

    alpha: float = 3.0

    def __post_init__(self) -> None:
        if not isinstance(self.alpha, numbers.Real) or not math.isfinite(self.alpha):
            raise InputError(f"BOLT alpha must be a finite number, got {self.alpha!r}")
        if self.alpha < 0:
            raise InputError(f"BOLT alpha must be >= 0 (0 means uniform), got {self.alpha}")

    def select(self, request: SelectionRequest) -> np.ndarray:
        rel, n, k = request.relevance, request.size, request.k
        lo, hi = (rel.min(), rel.max()) if n else (0.0, 0.0)
        if not hi > lo:  # no frames, or nothing to prefer
            return uniform_indices(n, k)
        weight = ((rel - lo) / (hi - lo)) ** self.alpha  # (N,) in [0, 1], max frame is 1
        cdf = np.cumsum(weight / weight.sum())  # (N,)
        quantiles = np.linspace(1 / k, 1 - 1 / k, k) if k > 1 else np.array([0.5])  # (k,)
        samples = np.minimum(np.searchsorted(cdf, quantiles, side="left"), n - 1)  # (k,)
        return take_nearest_free(samples, weight)


def take_nearest_free(samples: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Sorted unique frames: each sample, or if already taken the nearest frame that is not.

    Needs ``len(samples) <= len(weight)``. Ties in distance go to the higher weight, then the
    earlier frame. O(N) per repeated sample, nothing for the rest.
    """
    taken = np.zeros(weight.shape[0], dtype=bool)  # (N,)
    for s in samples.tolist():
        if taken[s]:
            free = np.flatnonzero(~taken)  # (F,) sorted, F >= 1
            p = int(np.searchsorted(free, s))
            left = int(free[p - 1]) if p > 0 else None
            right = int(free[p]) if p < free.size else None
            if right is None or (left is not None and s - left < right - s):
                s = left
            elif left is None or right - s < s - left:
                s = right
            else:
                s = right if weight[right] > weight[left] else left
        taken[s] = True
    return np.flatnonzero(taken).astype(np.int64)
