"""The one selector contract: ``selector.select(request) -> keyframe indices``.

``SelectionRequest`` carries whatever any selector may need about the candidate frames of one
question: relevance scores, frame embeddings, times, the question's text and embedding, the
budget, and a ``FrameReader`` for selectors that look at pixels (a VLM localizer). A simple
selector reads the one or two fields it needs and stays a few lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from framesift.decode import FrameBatch, Resize
from framesift.errors import InputError


class FrameReader(Protocol):
    """Pixels of candidate frames, by index into the candidate pool.

    ``read`` yields batches in the order of ``indices``; each batch's ``times`` are the true
    times of the frames returned (a reader that cannot return a candidate's own frame raises).
    Nothing is decoded until ``read`` is called.
    """

    def read(
        self, indices: np.ndarray, resize: Resize, batch_size: int = 16
    ) -> Iterator[FrameBatch]: ...


@dataclass(frozen=True)
class SelectionRequest:
    """One question's candidate frames, as selectors see them.

    ``relevance``: (N,) float64 cosine of each candidate with the question (higher is more
    relevant); ``embeddings``: (N, D) unit-norm frame embeddings; ``budget``: at most this many
    keyframes; ``times``: (N,) seconds; ``query``: (D,) the question's embedding in the frames'
    space; ``question``: its text; ``frames``: the candidates' pixels, for selectors that look.
    """

    relevance: np.ndarray
    embeddings: np.ndarray
    budget: int
    times: np.ndarray | None = None
    query: np.ndarray | None = None
    question: str = ""
    frames: FrameReader | None = None

    def __post_init__(self) -> None:
        budget = self.budget
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)):
            raise InputError(f"budget must be an integer number of frames, got {budget!r}")
        if budget < 1:
            raise InputError(f"budget must be at least 1 frame, got {budget}")
        try:
            rel = np.asarray(self.relevance, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise InputError(f"relevance must be a numeric (N,) array: {e}") from e
        if rel.ndim != 1:
            raise InputError(f"relevance must be a 1-D (N,) array, got shape {rel.shape}")
        emb_shape = np.shape(self.embeddings)
        if len(emb_shape) != 2 or emb_shape[0] != rel.shape[0]:
            raise InputError(
                f"embeddings must have shape (N, D) with N = len(relevance) = {rel.shape[0]}, "
                f"got {emb_shape}; pass one relevance score per embedded frame"
            )
        if not np.isfinite(rel).all():  # NaN would sort first or last depending on the method
            raise InputError(
                "relevance contains NaN or inf; recompute the scores "
                "(a zero-norm embedding gives NaN cosines)"
            )
        if self.times is not None and np.shape(self.times) != rel.shape:
            raise InputError(f"times must be (N,) = {rel.shape}, got {np.shape(self.times)}")
        object.__setattr__(self, "relevance", rel)
        object.__setattr__(self, "budget", int(budget))

    @property
    def size(self) -> int:
        """N, the number of candidate frames."""
        return self.relevance.shape[0]

    @property
    def k(self) -> int:
        """How many keyframes a selector that fills its budget returns: min(budget, N)."""
        return min(self.budget, self.size)

    def require(self, field: str, selector: str) -> None:
        """Fail with one line when a field a selector needs was not provided."""
        if getattr(self, field) is None:
            raise InputError(f"the {selector} selector needs the candidates' {field}")


class Selector(Protocol):
    """Chooses at most ``request.budget`` keyframes.

    Returns a strictly increasing int64 array of indices into the candidates (temporal order).
    Deterministic: same request, same output. Constructor keyword arguments are the selector's
    parameters (thresholds, alpha...); see ``framesift.registry`` for how they are named.
    """

    def select(self, request: SelectionRequest) -> np.ndarray: ...


def uniform_indices(n: int, k: int) -> np.ndarray:
    """Middle frame of each of ``min(k, n)`` equal segments of ``n`` frames.

    Integer arithmetic, so the result is exact and strictly increasing (segments are >= 1 frame).
    """
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    j = np.arange(k, dtype=np.int64)
    return (2 * j + 1) * n // (2 * k)  # (k,) floor((j + 1/2) * n / k)
