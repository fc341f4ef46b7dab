"""Drop baseline: non-keyframes contribute no token (keyframes only, as plain selection)."""

from __future__ import annotations

import torch


class DropMerger:
    """Returns None, which tells ``SequenceBuilder`` to leave non-keyframes out."""

    uses_query = False

    def merge(
        self, patches: torch.Tensor, reference: torch.Tensor, query: torch.Tensor | None
    ) -> None:
        return None
