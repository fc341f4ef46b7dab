"""The merger protocol, and which keyframe each frame is compared with."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from framesift.errors import InputError


class Merger(Protocol):
    """Squeezes each non-keyframe of a chunk into one token.

    ``patches``: (B, P, D) patch tokens of B frames. ``reference``: (B, P, D), ``reference[b]``
    is the patches of the keyframe frame ``b`` is compared with (see ``reference_keyframes``;
    the caller gathers them). ``query``: (D,) question embedding, or None for a merger whose
    ``uses_query`` is False (then no query space is needed at all). Returns (B, D) tokens in
    the dtype of ``patches``, or None when the merger drops non-keyframes altogether.
    Deterministic; memory O(B P D), so callers bound it by the chunk size.
    """

    uses_query: bool

    def merge(
        self, patches: torch.Tensor, reference: torch.Tensor, query: torch.Tensor | None
    ) -> torch.Tensor | None: ...


def reference_keyframes(n_frames: int, keyframes: np.ndarray) -> np.ndarray:
    """(n_frames,) int64: for every frame, the keyframe its patches are compared with in DFM.

    That is the closest keyframe at or before the frame (so a keyframe references itself), and
    the first keyframe for the frames before it. This is where framesift fixes the ViLAMP
    reference code, which compares with the loop counter instead of the preceding keyframe's
    index, and makes frames before the first keyframe compare with themselves (every patch
    equals its "keyframe" patch, so the redundancy term is a constant and does nothing).

    ``keyframes``: strictly increasing frame indices in ``[0, n_frames)``, at least one.
    """
    kf = check_keyframes(n_frames, keyframes)
    slot = np.searchsorted(kf, np.arange(n_frames), side="right") - 1  # (N,) last kf <= i, or -1
    return kf[np.maximum(slot, 0)]  # (N,) frames before the first keyframe use the first one


def check_keyframes(n_frames: int, keyframes: np.ndarray) -> np.ndarray:
    """Validate keyframe indices against ``n_frames``; return them as an int64 (K,) array."""
    kf = np.asarray(keyframes)
    if kf.ndim != 1 or kf.size == 0:
        raise InputError(
            f"keyframes must be a non-empty 1-D index array, got shape {kf.shape}; "
            "select at least one keyframe before compressing"
        )
    if not np.issubdtype(kf.dtype, np.integer):
        raise InputError(f"keyframes must be integer frame indices, got dtype {kf.dtype}")
    if np.any(np.diff(kf) <= 0) or kf[0] < 0 or kf[-1] >= n_frames:
        raise InputError(
            f"keyframes must be strictly increasing indices in [0, {n_frames}), got {kf.tolist()}"
        )
    return kf.astype(np.int64)
