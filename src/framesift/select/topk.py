"""Top-k by relevance: the simplest query-aware baseline, blind to redundancy and coverage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framesift.select.base import SelectionRequest


@dataclass(frozen=True)
class TopKSelector:
    """The K most relevant frames (earlier frame first on ties), returned in temporal order."""

    def select(self, request: SelectionRequest) -> np.ndarray:
        best = np.argsort(-request.relevance, kind="stable")[
            : request.budget
        ]  # stable sort: ties keep index order
        return np.sort(best).astype(np.int64)
