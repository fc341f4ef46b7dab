"""Token sequence assembly for the answer stage: keyframes full, other frames merged.

Frames arrive in temporal order, in chunks of any size; the builder keeps only what the final
sequence holds (keyframe tokens, one merged token per other frame), never a chunk's patches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from framesift.compress.base import Merger, check_keyframes, reference_keyframes
from framesift.errors import InputError


@dataclass
class TokenSequence:
    """The visual tokens of one video, in temporal order.

    ``embeddings``: (T, D). ``frame_of_token``: (T,) int64 candidate-frame index of each token.
    ``times``: (T,) float64 seconds of each token's frame. ``is_keyframe_token``: (T,) bool.
    ``tokens_before``: n_frames * P, the length of the uncompressed sequence.
    """

    embeddings: torch.Tensor
    frame_of_token: torch.Tensor
    times: np.ndarray
    is_keyframe_token: torch.Tensor
    tokens_before: int

    @property
    def compression(self) -> float:
        """How many times shorter than the uncompressed sequence."""
        return self.tokens_before / len(self.embeddings)


def pool_keyframe(patches: torch.Tensor, stride: int) -> torch.Tensor:
    """(B, P, D) -> (B, ceil(h/stride)^2, D), P = h * h patches on a square grid.

    Bilinear resize of the grid, as LLaVA-OneVision pools video frames (transformers
    ``LlavaOnevisionModel.apply_pooling``: ``interpolate(size=ceil(h/2), mode="bilinear")``,
    align_corners False); ``stride`` generalises its factor 2. Computed in float32.
    """
    B, P, D = patches.shape
    h = math.isqrt(P)
    if h * h != P:
        raise InputError(f"keyframe pooling needs a square patch grid, got P = {P} patches")
    x = patches.float().reshape(B, h, h, D).permute(0, 3, 1, 2)  # (B, D, h, h)
    size = math.ceil(h / stride)
    x = F.interpolate(x, size=(size, size), mode="bilinear")  # (B, D, h', h')
    return x.permute(0, 2, 3, 1).reshape(B, size * size, D).to(patches.dtype)  # (B, h'^2, D)


class SequenceBuilder:
    """Streams frames in temporal order into a ``TokenSequence``.

    ``frame_times``: (N,) seconds of the N candidate frames. ``keyframes``: strictly increasing
    indices. ``keyframe_pool``: 1 keeps a keyframe's P tokens, s > 1 resizes its grid to
    ceil(h/s)^2 tokens (2 is LLaVA-OneVision's video pooling). Chunks must cover frames
    0..N-1 contiguously, in order; a chunk's keyframe rows of ``merged_tokens`` are ignored.
    """

    def __init__(self, frame_times: np.ndarray, keyframes: np.ndarray, keyframe_pool: int = 1):
        self._times = np.asarray(frame_times, dtype=np.float64)  # (N,)
        if self._times.ndim != 1:
            raise InputError(f"frame_times must be (N,) seconds, got shape {self._times.shape}")
        if isinstance(keyframe_pool, bool) or not isinstance(keyframe_pool, int):
            raise InputError(f"keyframe_pool must be an integer stride, got {keyframe_pool!r}")
        if keyframe_pool < 1:
            raise InputError(f"keyframe_pool must be >= 1 (1 = no pooling), got {keyframe_pool}")
        self._is_key = np.zeros(len(self._times), dtype=bool)  # (N,)
        self._is_key[check_keyframes(len(self._times), keyframes)] = True
        self._pool = keyframe_pool
        self._next = 0  # first frame the next chunk must start with
        self._shape: tuple[int, int] | None = None  # (P, D) of the first chunk
        self._tokens: list[torch.Tensor] = []  # per chunk (T_c, D)
        self._frames: list[np.ndarray] = []  # per chunk (T_c,)

    def add_chunk(
        self,
        frame_indices: np.ndarray,
        patches: torch.Tensor,
        merged_tokens: torch.Tensor | None,
    ) -> None:
        """Append B consecutive frames: ``frame_indices`` (B,), ``patches`` (B, P, D),
        ``merged_tokens`` (B, D) from a ``Merger`` (None: drop non-keyframes)."""
        idx = np.asarray(frame_indices, dtype=np.int64)  # (B,)
        B = len(idx)
        if B == 0:
            return
        if idx[0] != self._next or np.any(np.diff(idx) != 1) or idx[-1] >= len(self._times):
            raise InputError(
                f"chunks must continue frames in temporal order from frame {self._next} without "
                f"gaps, up to {len(self._times) - 1}; got {idx.tolist()}"
            )
        if patches.ndim != 3 or patches.shape[0] != B:
            raise InputError(f"patches must be ({B}, P, D), got {tuple(patches.shape)}")
        if self._shape is None:
            self._shape = (patches.shape[1], patches.shape[2])
        if tuple(patches.shape[1:]) != self._shape:
            raise InputError(f"patches (P, D) changed from {self._shape} to {patches.shape[1:]}")
        if merged_tokens is not None and tuple(merged_tokens.shape) != (B, self._shape[1]):
            raise InputError(f"merged_tokens must be ({B}, D), got {tuple(merged_tokens.shape)}")
        key = self._is_key[idx]  # (B,)
        kept = patches[torch.from_numpy(key)]  # (k, P, D)
        if self._pool > 1 and len(kept):
            kept = pool_keyframe(kept, self._pool)  # (k, P', D)
        counts = np.where(key, kept.shape[1], 0 if merged_tokens is None else 1)  # (B,)
        pieces, next_key = [], iter(kept)
        for b in range(B):
            if key[b]:
                pieces.append(next(next_key))  # (P', D)
            elif merged_tokens is not None:
                pieces.append(merged_tokens[b : b + 1].to(patches.dtype))  # (1, D)
        if pieces:
            self._tokens.append(torch.cat(pieces))  # (T_c, D) a copy: the chunk is not kept
            self._frames.append(np.repeat(idx, counts))  # (T_c,)
        self._next = int(idx[-1]) + 1

    def build(self) -> TokenSequence:
        n = len(self._times)
        if self._next != n or self._shape is None:
            raise InputError(f"only frames [0, {self._next}) of {n} were added; add all first")
        frames = np.concatenate(self._frames)  # (T,)
        assert np.all(np.diff(frames) >= 0), "tokens out of temporal order: chunking bug"
        return TokenSequence(
            embeddings=torch.cat(self._tokens),  # (T, D)
            frame_of_token=torch.from_numpy(frames),
            times=self._times[frames],
            is_keyframe_token=torch.from_numpy(self._is_key[frames]),
            tokens_before=n * self._shape[0],
        )


def compress_frames(
    patches: np.ndarray | torch.Tensor,
    frame_times: np.ndarray,
    keyframes: np.ndarray,
    query: np.ndarray | torch.Tensor | None,
    merger: Merger,
    *,
    keyframe_pool: int = 1,
    chunk_size: int = 64,
) -> TokenSequence:
    """Compress a video's (N, P, D) patches (e.g. the feature cache's array) chunk by chunk.

    Each chunk is merged against its frames' reference keyframes (``reference_keyframes``),
    gathered from ``patches``, so memory stays O(chunk_size * P * D) beyond the output.
    """
    if chunk_size < 1:
        raise InputError(f"chunk_size must be >= 1, got {chunk_size}")
    n = len(patches)
    refs = reference_keyframes(n, keyframes)  # (N,)
    builder = SequenceBuilder(frame_times, keyframes, keyframe_pool)
    q = None if query is None else torch.as_tensor(query)  # (D,)
    for start in range(0, n, chunk_size):
        idx = np.arange(start, min(start + chunk_size, n))  # (B,)
        x = torch.as_tensor(patches[start : idx[-1] + 1])  # (B, P, D)
        ref = torch.as_tensor(patches[refs[idx]])  # (B, P, D)
        builder.add_chunk(idx, x, merger.merge(x, ref, q))
    return builder.build()
