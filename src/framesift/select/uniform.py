"""Uniform sampling: the baseline every query-aware selector must beat, and their fallback."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framesift.select.base import SelectionRequest, uniform_indices


@dataclass(frozen=True)
class UniformSelector:
    """K evenly spaced frames, ignoring the query: the reference point for every other method."""

    def select(self, request: SelectionRequest) -> np.ndarray:
        return uniform_indices(request.size, request.budget)
