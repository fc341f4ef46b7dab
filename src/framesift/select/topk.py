"""Top-k by relevance: the simplest query-aware baseline, blind to redundancy and coverage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framesift.select.base import check_selector_args


@dataclass(frozen=True)
class TopKSelector:
    """The K most relevant frames (earlier frame first on ties), returned in temporal order."""

    def select(self, relevance: np.ndarray, embeddings: np.ndarray, budget: int) -> np.ndarray:
        rel = check_selector_args(relevance, embeddings, budget)
        best = np.argsort(-rel, kind="stable")[:budget]  # stable sort: ties keep index order
        return np.sort(best).astype(np.int64)
