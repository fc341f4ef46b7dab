"""Keyframe selection: relevance scores and frame embeddings in, keyframe indices out."""

from framesift.registry import Registry
from framesift.select.base import FrameSelector, QuerySelector, Selector

SELECTORS: Registry[Selector] = Registry(
    "selector",
    {
        "uniform": "framesift.select.uniform:UniformSelector",
        "topk": "framesift.select.topk:TopKSelector",
        "dks": "framesift.select.dks:DKSSelector",
        "bolt": "framesift.select.bolt:BOLTSelector",
        "aks": "framesift.select.aks:AKSSelector",
        "vila": "framesift.vila.selector:ViLASelector",
        "vlm-localizer": "framesift.select.localizer:VLMLocalizer",
    },
)


def build_selector(spec: str, **params) -> Selector:
    """``"name"`` or ``"name:argument"`` (a checkpoint or model id, e.g. ``vila:runs/ckpt``)."""
    name, _, argument = spec.partition(":")
    cls = SELECTORS.get(name)
    return cls(argument, **params) if argument else cls(**params)


__all__ = ["SELECTORS", "FrameSelector", "QuerySelector", "Selector", "build_selector"]
