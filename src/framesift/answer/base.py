"""The answerer protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from framesift.decode import Resize

if TYPE_CHECKING:
    from framesift.compress.sequence import TokenSequence


@dataclass
class Evidence:
    """The selected keyframes as the answerer may use them.

    ``times``: (K,) seconds; ``embeddings``: (K, D) unit-norm frame embeddings of the
    pipeline's encoder; ``scores``: (K,) relevance to the question; ``video``: the file.
    """

    video: str
    times: np.ndarray
    embeddings: np.ndarray
    scores: np.ndarray


@dataclass
class Answer:
    """``index``: chosen option, or -1 for an open-ended answer; ``text``: the option's text or
    the generated answer; ``option_scores``: one score per option (higher is better), or empty."""

    index: int
    text: str
    option_scores: list[float]


class Answerer(Protocol):
    """Built with the pipeline's encoder (``ANSWERERS.build(name, encoder=...)``)."""

    def answer(self, question: str, options: list[str], evidence: Evidence) -> Answer: ...


class PatchEncoder(Protocol):
    """The visual side of an answerer that reads tokens: per-frame patch tokens, and a query
    vector in the same space for differential feature merging.

    ``name`` identifies architecture and weights (a cache key); frames are decoded at
    ``resize``. ``encode_patches``: (B, H, W, 3) uint8 -> (B, P, D) float tensor/array, the
    tokens the answerer's language model will read. ``embed_query``: text -> (D,).
    """

    name: str
    resize: Resize

    def encode_patches(self, pixels: np.ndarray) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class TokenAnswerer(Protocol):
    """An answerer that reads a compressed token sequence (keyframes full, others merged).

    ``answer_tokens`` gets the question, its options (empty for open-ended questions, then
    ``Answer.index`` is -1 and ``Answer.text`` the generated answer) and the sequence.
    ``open_ended``: whether it can answer without options (a generative model can).
    """

    patch_encoder: PatchEncoder
    open_ended: bool

    def answer_tokens(
        self, question: str, options: list[str], sequence: TokenSequence
    ) -> Answer: ...
