"""Keyframe selection: one ``SelectionRequest`` about the candidate frames in, indices out.

ViLA's trained Frame-Prompter (``vila:CHECKPOINT``) registers itself from the training layer
through the ``framesift.selectors`` entry-point group.
"""

from framesift.registry import Registry
from framesift.select.base import FrameReader, SelectionRequest, Selector, uniform_indices

SELECTORS: Registry[Selector] = Registry(
    "selector",
    {
        "uniform": "framesift.select.uniform:UniformSelector",
        "topk": "framesift.select.topk:TopKSelector",
        "dks": "framesift.select.dks:DKSSelector",
        "bolt": "framesift.select.bolt:BOLTSelector",
        "aks": "framesift.select.aks:AKSSelector",
        "vlm-localizer": "framesift.select.localizer:VLMLocalizer",
    },
)

__all__ = ["SELECTORS", "FrameReader", "SelectionRequest", "Selector", "uniform_indices"]
