"""The encoder protocol: frames and text into one embedding space."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from framesift.decode import Resize


@dataclass
class FrameFeatures:
    """What an encoder says about a batch of frames.

    ``embeddings``: (B, D) float32, unit norm, comparable with ``encode_text`` output.
    ``patches``: (B, P, D') float32 per-patch embeddings, or None when not asked for.
    """

    embeddings: np.ndarray
    patches: np.ndarray | None = None


@dataclass(frozen=True)
class EncoderInfo:
    """Identity and calibration of an encoder.

    ``name`` identifies architecture *and* weights: it is part of every cache key.
    ``selector_defaults`` holds per-selector keyword defaults on this encoder's score scale,
    e.g. ``{"dks": {"relevance_floor": 0.2, "redundancy_ceiling": 0.85}}`` for CLIP cosine.
    """

    name: str
    resize: Resize
    embed_dim: int
    selector_defaults: dict[str, dict[str, Any]] = field(default_factory=dict)


class Encoder(Protocol):
    info: EncoderInfo

    def encode_frames(self, pixels: np.ndarray, with_patches: bool = False) -> FrameFeatures:
        """``pixels``: (B, H, W, 3) uint8 RGB already resized to ``info.resize``."""
        ...

    def encode_text(self, texts: list[str]) -> np.ndarray:
        """(T, D) float32 unit-norm text embeddings in the frames' space."""
        ...


class PatchEncoder(Protocol):
    """Per-frame visual tokens as an answerer reads them, and a query vector in the same space
    for differential feature merging.

    ``name`` identifies architecture and weights (a cache key); frames are decoded at
    ``resize``. ``encode_patches``: (B, H, W, 3) uint8 -> (B, P, D) float array, the tokens the
    answerer's language model will read. ``embed_query``: text -> (D,).
    """

    name: str
    resize: Resize

    def encode_patches(self, pixels: np.ndarray) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...
