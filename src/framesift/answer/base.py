"""The answerer protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


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
    index: int
    text: str
    option_scores: list[float]


class Answerer(Protocol):
    """Built with the pipeline's encoder (``ANSWERERS.build(name, encoder=...)``)."""

    def answer(self, question: str, options: list[str], evidence: Evidence) -> Answer: ...
