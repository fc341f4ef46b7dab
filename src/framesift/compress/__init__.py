"""Visual-token compression: keyframes keep their patch tokens, other frames are merged.

Mergers turn each non-keyframe's P patch tokens into one token (ViLAMP's differential feature
merging, or a mean-pooling baseline) or drop it; ``SequenceBuilder`` assembles the tokens of a
video in temporal order for the answer stage. Registry entries are import paths and the
re-exports below resolve on first access, so importing this package does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from framesift.registry import Registry, lazy_attributes

if TYPE_CHECKING:
    from framesift.compress.base import Merger

MERGERS: Registry[Merger] = Registry(
    "merger",
    {
        "dfm": "framesift.compress.dfm:DFMMerger",
        "mean": "framesift.compress.mean:MeanMerger",
        "drop": "framesift.compress.drop:DropMerger",
    },
)

_LAZY = {
    "Merger": "framesift.compress.base",
    "reference_keyframes": "framesift.compress.base",
    "DFMMerger": "framesift.compress.dfm",
    "DFMProjections": "framesift.compress.dfm",
    "MeanMerger": "framesift.compress.mean",
    "DropMerger": "framesift.compress.drop",
    "SequenceBuilder": "framesift.compress.sequence",
    "TokenSequence": "framesift.compress.sequence",
    "compress_frames": "framesift.compress.sequence",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = ["MERGERS", *_LAZY]
