"""Encoders: frame embeddings (+ patch embeddings) and text embeddings in one space.

``build_encoder("bundled")`` is the offline default; ``build_encoder("hf:<id or folder>")``
loads CLIP or SigLIP through transformers (``hf`` alone means ``openai/clip-vit-base-patch32``).
"""

from __future__ import annotations

from functools import lru_cache

from framesift.encode.base import Encoder, EncoderInfo, FrameFeatures, PatchEncoder
from framesift.registry import Registry

ENCODERS: Registry[Encoder] = Registry(
    "encoder",
    {
        "bundled": "framesift.encode.bundled:BundledEncoder",
        "hf": "framesift.encode.hf:HFEncoder",
    },
)


@lru_cache(maxsize=4)
def build_encoder(spec: str) -> Encoder:
    """``"name"`` or ``"name:argument"``; the argument (a model id or folder) goes to the class.

    Loaded once per process and spec: encoders hold no per-question state, and loading the
    weights costs seconds that every pipeline (and every evaluation shard) would pay again.
    """
    name, _, argument = spec.partition(":")
    cls = ENCODERS.get(name)
    return cls(argument) if argument else cls()


__all__ = ["ENCODERS", "Encoder", "EncoderInfo", "FrameFeatures", "PatchEncoder", "build_encoder"]
