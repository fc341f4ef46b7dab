"""Uniform sampling: the baseline every query-aware selector must beat, and their fallback."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framesift.select.base import check_selector_args, uniform_indices


@dataclass(frozen=True)
class UniformSelector:
    """K evenly spaced frames, ignoring the query: the reference point for every other method."""

    def select(self, relevance: np.ndarray, embeddings: np.ndarray, budget: int) -> np.ndarray:
        rel = check_selector_args(relevance, embeddings, budget)
        return uniform_indices(rel.shape[0], budget)
