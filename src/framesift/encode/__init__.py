"""Encoders: frame embeddings (+ patch embeddings) and text embeddings in one space.

``build_encoder("bundled")`` is the offline default (``bundled:torch`` its torch reference);
``build_encoder("hf:<id or folder>")`` loads CLIP or SigLIP through transformers (``hf`` alone
means ``openai/clip-vit-base-patch32``). ``device`` and ``dtype`` say where and in what precision
a model runs; they do not change what the features mean, so they are not part of an encoder's
``info.name`` (see ``hf`` and ``bundled`` for the measured differences).
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


@lru_cache(maxsize=8)
def build_encoder(spec: str, *, device: str = "auto", dtype: str = "auto") -> Encoder:
    """``"name"`` or ``"name:argument"``; the argument (a runtime, a model id or folder) goes
    to the class, with the ``device`` (``auto|cpu|cuda[:N]``) and ``dtype``
    (``auto|float32|float16|bfloat16``) to run it on.

    Loaded once per process and (spec, device, dtype): encoders hold no per-question state,
    and loading the weights costs seconds that every pipeline (and every evaluation shard)
    would pay again.
    """
    name, _, argument = spec.partition(":")
    cls = ENCODERS.get(name)
    if argument:
        return cls(argument, device=device, dtype=dtype)
    return cls(device=device, dtype=dtype)


__all__ = ["ENCODERS", "Encoder", "EncoderInfo", "FrameFeatures", "PatchEncoder", "build_encoder"]
