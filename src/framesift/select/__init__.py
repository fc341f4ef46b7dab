"""Keyframe selection: relevance scores and frame embeddings in, keyframe indices out."""

from framesift.registry import Registry
from framesift.select.base import Selector

SELECTORS: Registry[Selector] = Registry(
    "selector",
    {
        "uniform": "framesift.select.uniform:UniformSelector",
        "topk": "framesift.select.topk:TopKSelector",
        "dks": "framesift.select.dks:DKSSelector",
        "bolt": "framesift.select.bolt:BOLTSelector",
        "aks": "framesift.select.aks:AKSSelector",
    },
)

__all__ = ["SELECTORS", "Selector"]
