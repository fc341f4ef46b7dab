"""ViLA Frame-Prompter: pick one frame per temporal segment, differentiably.

The T input frames are cut into S equal segments of L = T / S frames. A small MLP scores every
frame; in training a straight-through hard Gumbel-softmax draws one frame per segment (the
forward pass uses the exact one-hot, the backward pass the gradient of the soft sample), so the
answer and distillation losses train the scorer. In evaluation the pick is the argmax.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from framesift.vila.config import ViLAConfig


def anneal(step: int, total: int, start: float = 1.0, end: float = 0.01) -> float:
    """Gumbel temperature at ``step`` of ``total``: exponential from ``start`` to ``end``.

    Exponential rather than linear because the sample's sharpness scales with 1 / tau: each
    equal fraction of training then sharpens the selection by the same factor.
    """
    assert start > 0 and end > 0, f"temperatures must be > 0, got start={start}, end={end}"
    frac = min(max(step / max(total, 1), 0.0), 1.0)
    return start * (end / start) ** frac


def gumbel_one_hot(
    logits: torch.Tensor, tau: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Straight-through hard Gumbel-softmax over the last axis: one-hot forward, soft backward.

    Like ``F.gumbel_softmax(hard=True)``, but takes a ``generator`` so training is reproducible.
    """
    assert tau > 0, f"Gumbel temperature must be > 0, got {tau}"
    # Gumbel(0, 1) noise as -log(Exp(1)), the way torch draws it
    e = torch.empty_like(logits).exponential_(generator=generator)
    soft = torch.softmax((logits - e.log()) / tau, dim=-1)
    hard = F.one_hot(soft.argmax(-1), logits.shape[-1]).to(soft.dtype)
    return hard - soft.detach() + soft  # value: hard; gradient: d soft


def gather(selection: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-segment picks of ``x``: selection (B, S, L) one-hot, x (B, T = S*L, ...) -> (B, S, ...).

    A weighted sum over each segment rather than an index lookup, so the gradient reaches the
    selection (and through the straight-through estimator the scorer). With an exact one-hot
    (eval) the result is exactly the picked rows.
    """
    B, S, L = selection.shape
    assert x.shape[:2] == (B, S * L), (
        f"selection {tuple(selection.shape)} picks from {S * L} frames per sample, "
        f"x has shape {tuple(x.shape)}"
    )
    xs = x.reshape(B, S, L, -1)  # (B, S, L, prod(...))
    picked = torch.einsum("bsl,bslc->bsc", selection.to(xs.dtype), xs)  # (B, S, prod(...))
    return picked.reshape(B, S, *x.shape[2:])


def selection_indices(selection: torch.Tensor) -> torch.Tensor:
    """(B, S, L) one-hot -> (B, S) long indices into the T = S*L frames, in temporal order."""
    _, S, L = selection.shape
    offsets = torch.arange(S, device=selection.device) * L  # (S,) first frame of each segment
    return selection.argmax(-1) + offsets  # (B, S), increasing along S


class FramePrompter(nn.Module):
    """Scores frames against the question and picks one per segment.

    framesift conditions the scores on the question: the MLP sees ``[f, q, f * q]``. The
    reference selector never sees the question, so the one frame it keeps per segment can only
    be a question-independent guess of what is generally useful; a text-guided selector should
    keep different frames for "what is in the red box?" and "who opens the door?". And where
    the reference keeps sampling Gumbel noise at evaluation (random answers), this module takes
    the argmax whenever ``self.training`` is False.
    """

    def __init__(self, config: ViLAConfig):
        super().__init__()
        self.config = config
        D = config.embed_dim
        # unit-norm inputs have entries ~ 1/sqrt(D), their products ~ 1/D: LayerNorms bring
        # both to unit scale so the default-initialised MLP sees (and learns from) f * q
        self.ln_frame, self.ln_question = nn.LayerNorm(D), nn.LayerNorm(D)
        self.scorer = nn.Sequential(
            nn.Linear(3 * D, config.prompter_hidden),
            nn.GELU(),
            nn.Linear(config.prompter_hidden, 1),
        )
        # Relevance prior: cos(f, q) in the encoder's shared space, with a learned weight. At
        # initialisation the prompter keeps each segment's most question-relevant frame; the
        # MLP learns what relevance misses. Without it a few hundred questions teach the MLP
        # the training set's object words, not how to find an unseen one.
        self.relevance_weight = nn.Parameter(torch.tensor(10.0))

    def scores(self, frames: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        """Selection logits: frames (B, T, D), question (B, D) -> (B, T)."""
        B, T, D = frames.shape
        assert question.shape == (B, D), (
            f"question must be (B, D) = {(B, D)} like the frames, got {tuple(question.shape)}"
        )
        f = self.ln_frame(frames)  # (B, T, D)
        q = self.ln_question(question).unsqueeze(1).expand(B, T, D)  # (B, T, D)
        features = torch.cat([f, q, f * q], dim=-1)  # (B, T, 3D)
        relevance = torch.einsum(
            "btd,bd->bt", F.normalize(frames, dim=-1), F.normalize(question, dim=-1)
        )
        return self.scorer(features).squeeze(-1) + self.relevance_weight * relevance  # (B, T)

    def segment_scores(self, frames: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        """Selection logits cut into segments: (B, T, D), (B, D) -> (B, S, L)."""
        S = self.config.segments
        B, T, _ = frames.shape
        assert T % S == 0, (
            f"{T} frames cannot be cut into {S} equal segments; sample a multiple of {S} frames"
        )
        return self.scores(frames, question).view(B, S, T // S)  # (B, S, L)

    def forward(
        self,
        frames: torch.Tensor,
        question: torch.Tensor,
        tau: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """One-hot selection (B, S, L): Gumbel straight-through in training, argmax in eval."""
        logits = self.segment_scores(frames, question)  # (B, S, L)
        if self.training:
            return gumbel_one_hot(logits, tau, generator)  # (B, S, L) one-hot values
        return F.one_hot(logits.argmax(-1), logits.shape[-1]).to(logits.dtype)  # no noise

    @torch.no_grad()
    def select(self, frames: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        """Deterministic pick for inference, in either mode: (B, S) long indices into T."""
        logits = self.segment_scores(frames, question)  # (B, S, L)
        return selection_indices(F.one_hot(logits.argmax(-1), logits.shape[-1]))  # (B, S)
