"""Mean pooling baseline: a non-keyframe becomes the average of its patch tokens."""

from __future__ import annotations

import torch


class MeanMerger:
    """Query- and keyframe-blind pooling, the control DFM is measured against."""

    uses_query = False

    def merge(
        self, patches: torch.Tensor, reference: torch.Tensor, query: torch.Tensor | None
    ) -> torch.Tensor:
        with torch.inference_mode():
            return patches.float().mean(dim=1).to(patches.dtype)  # (B, P, D) -> (B, D)
