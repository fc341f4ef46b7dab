"""Encoders: frame embeddings (+ patch embeddings) and text embeddings in one space.

``build_encoder("bundled")`` is the offline default (``bundled:torch`` its torch reference);
``build_encoder("hf:<id or folder>")`` loads CLIP or SigLIP through transformers (``hf`` alone
means ``openai/clip-vit-base-patch32``). ``device`` and ``dtype`` say where and in what precision
a model runs; they do not change what the features mean, so they are not part of an encoder's
``info.name`` (see ``hf`` and ``bundled`` for the measured differences).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from framesift.encode.base import Encoder, EncoderInfo, FrameFeatures, PatchEncoder
from framesift.registry import Registry

ENCODERS: Registry[Encoder] = Registry(
    "encoder",
    {
        "bundled": "framesift.encode.bundled:BundledEncoder",
        "hf": "framesift.encode.hf:HFEncoder",
    },
)


def build_encoder(
    spec: str,
    params: dict[str, Any] | None = None,
    *,
    device: str = "auto",
    dtype: str = "auto",
    threads: int | None = None,
) -> Encoder:
    """``"name"`` or ``"name:argument"`` (a runtime, a model id or folder) with its
    ``params``, run on ``device`` (``auto|cpu|cuda[:N]``) in ``dtype``
    (``auto|float32|float16|bfloat16``), with ``threads`` CPU threads where its runtime takes
    a count (None: the runtime's default).

    Loaded once per process and (spec, params, device, dtype): encoders hold no per-question
    state, and loading the weights costs seconds that every pipeline (and every evaluation
    shard) would pay again.
    """
    return _build(spec, tuple(sorted((params or {}).items())), device, dtype, threads)


@lru_cache(maxsize=8)
def _build(spec: str, params: tuple, device: str, dtype: str, threads: int | None) -> Encoder:
    context = {"device": device, "dtype": dtype, "threads": threads}
    return ENCODERS.build(spec, dict(params), context)


__all__ = ["ENCODERS", "Encoder", "EncoderInfo", "FrameFeatures", "PatchEncoder", "build_encoder"]
