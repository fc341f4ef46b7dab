"""The one answerer contract: ``answerer.answer(request) -> Answer``.

``AnswerRequest`` carries the question, its options (none for an open-ended question) and the
evidence: the selected keyframes (times, embeddings, relevance) and, for an answerer that reads
visual tokens, the compressed token sequence (keyframes at full tokens, other frames merged).
What the pipeline must prepare is declared by the answerer, not guessed:

- ``patch_encoder``: the visual tokens it reads (a ``PatchEncoder``), or None;
- ``needs_tokens``: True when it can only answer from a token sequence (the pipeline then
  builds one, dropping non-keyframes unless a merger is configured); an answerer with a
  ``patch_encoder`` and ``needs_tokens`` False answers from either;
- ``open_ended``: whether it can answer without options (a generative model can);
- ``scores_text`` (optional, False when absent): whether it also has
  ``loglikelihood(request, continuation) -> (logprob, is_greedy)``, the log-probability of a
  given reply to the request's question (read as the user turn, verbatim) and whether greedy
  decoding would produce exactly that reply: what lmms-eval's ``multiple_choice`` tasks ask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from framesift.encode.base import PatchEncoder
from framesift.errors import InputError
from framesift.select.base import FrameReader

if TYPE_CHECKING:
    import torch

    from framesift.compress.sequence import TokenSequence


@dataclass
class Evidence:
    """The selected keyframes as the answerer may use them.

    ``times``: (K,) seconds; ``embeddings``: (K, D) unit-norm frame embeddings of the
    pipeline's encoder; ``scores``: (K,) relevance to the question; ``video``: where they
    come from (a file name, or a description of a composed video). ``frames`` reads the
    candidates' pixels and ``indices`` (K,) are the keyframes' positions among them, for an
    answerer that looks at the keyframes itself: ``frames.read(indices, resize)``.
    """

    video: str
    times: np.ndarray
    embeddings: np.ndarray
    scores: np.ndarray
    indices: np.ndarray | None = None
    frames: FrameReader | None = None


@dataclass
class AnswerRequest:
    """``options`` empty: open-ended. ``tokens``: the compressed sequence, when prepared."""

    question: str
    options: list[str]
    evidence: Evidence
    tokens: TokenSequence | None = None


@dataclass
class Answer:
    """``index``: chosen option, or -1 for an open-ended (or unparseable) answer; ``text``: the
    option's text or the generated reply; ``option_scores``: one score per option (higher is
    better), or empty."""

    index: int
    text: str
    option_scores: list[float] = field(default_factory=list)


class Answerer(Protocol):
    """Built by ``ANSWERERS.build(spec, params, context)``; see the module docstring."""

    patch_encoder: PatchEncoder | None
    needs_tokens: bool
    open_ended: bool

    def answer(self, request: AnswerRequest) -> Answer: ...


def continuation_score(logits: torch.Tensor, ids: torch.Tensor) -> tuple[float, bool]:
    """(sum of log-probabilities, is_greedy) of the C continuation tokens ``ids`` (C,) from
    ``logits`` (C, V), row i being the model's prediction for token i (the logits at the
    position just before it)."""
    logprobs = logits.float().log_softmax(-1)  # (C, V)
    total = float(logprobs.gather(1, ids[:, None]).sum())
    return total, bool((logits.argmax(-1) == ids).all())


def check_reply_settings(mode: str, max_new_tokens: int) -> None:
    """The settings every generative answerer takes: ``mode`` "letter" (generate, parse the
    letter) or "likelihood" (the option letter with the highest next-token logit)."""
    if mode not in ("letter", "likelihood"):
        raise InputError(f"mode must be 'letter' or 'likelihood', got {mode!r}")
    if (
        isinstance(max_new_tokens, bool)
        or not isinstance(max_new_tokens, int)
        or max_new_tokens < 1
    ):
        raise InputError(f"max_new_tokens must be a whole number >= 1, got {max_new_tokens!r}")
