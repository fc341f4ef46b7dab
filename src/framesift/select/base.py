"""The selector protocol shared by every keyframe selector."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from framesift.errors import InputError


class Selector(Protocol):
    """Chooses at most ``budget`` keyframes.

    ``relevance``: (N,) float, cosine of each candidate frame with the question (higher is
    more relevant). ``embeddings``: (N, D) float32 unit-norm frame embeddings, for selectors
    that care about redundancy. Returns a strictly increasing int64 array of at most
    ``min(budget, N)`` indices (temporal order). Deterministic: same input, same output.
    Constructor keyword arguments are the selector's parameters (thresholds, alpha...).
    """

    def select(self, relevance: np.ndarray, embeddings: np.ndarray, budget: int) -> np.ndarray: ...


def check_selector_args(relevance: np.ndarray, embeddings: np.ndarray, budget: int) -> np.ndarray:
    """Validate ``Selector.select`` arguments; return relevance as a float64 (N,) vector.

    NaN scores would silently sort first or last depending on the method, so they are refused
    rather than guessed around.
    """
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)):
        raise InputError(f"budget must be an integer number of frames, got {budget!r}")
    if budget < 1:
        raise InputError(f"budget must be at least 1 frame, got {budget}")
    try:
        rel = np.asarray(relevance, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InputError(f"relevance must be a numeric (N,) array: {e}") from e
    if rel.ndim != 1:
        raise InputError(f"relevance must be a 1-D (N,) array, got shape {rel.shape}")
    emb_shape = np.shape(embeddings)
    if len(emb_shape) != 2 or emb_shape[0] != rel.shape[0]:
        raise InputError(
            f"embeddings must have shape (N, D) with N = len(relevance) = {rel.shape[0]}, "
            f"got {emb_shape}; pass one relevance score per embedded frame"
        )
    if not np.isfinite(rel).all():
        raise InputError(
            "relevance contains NaN or inf; recompute the scores "
            "(a zero-norm embedding gives NaN cosines)"
        )
    return rel


def uniform_indices(n: int, k: int) -> np.ndarray:
    """Middle frame of each of ``min(k, n)`` equal segments of ``n`` frames.

    Integer arithmetic, so the result is exact and strictly increasing (segments are >= 1 frame).
    """
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    j = np.arange(k, dtype=np.int64)
    return (2 * j + 1) * n // (2 * k)  # (k,) floor((j + 1/2) * n / k)


class QuerySelector(Protocol):
    """Optional ability: a selector that reads the question's embedding itself (a learned
    selector such as ViLA's Frame-Prompter conditions on it, not only on relevance)."""

    def select_for_query(
        self, query: np.ndarray, embeddings: np.ndarray, budget: int
    ) -> np.ndarray:
        """``query``: (D,) unit-norm question embedding; ``embeddings``: (N, D). Same contract
        as ``Selector.select`` for the result."""
        ...


class FrameSelector(Protocol):
    """Optional ability: a selector that looks at the frames themselves (a VLM localizer).

    ``times``: (N,) seconds of the candidate frames; returns indices into them, as ``select``.
    """

    def select_frames(
        self, video: str, times: np.ndarray, question: str, budget: int
    ) -> np.ndarray: ...
