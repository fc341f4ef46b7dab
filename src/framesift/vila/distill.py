"""ViLA QFormer-Distiller: lift the student's S*Q tokens to the teacher's T*Q, and the loss.

    loss = CE(answer_logits, target) + lam * MSE(teacher_tokens, lift(student_tokens))

The teacher's tokens are targets only: they are detached here, and ``ViLAModel`` computes them
with the teacher's own frozen Q-Former (the reference code runs them through the student's).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from framesift.vila.config import ViLAConfig


class TokenLift(nn.Module):
    """Learned linear map along the token axis: (B, S*Q, H) -> (B, T*Q, H).

    Initialised as nearest-segment upsampling: teacher frame t's q-th token starts as a copy of
    the q-th token of the student frame picked from t's segment (the segment holding t is the
    nearest student frame). An untrained random map would make the MSE term measure noise and
    push the student's tokens towards whatever undoes it; with the copy init the MSE starts
    by asking exactly what distillation should ask: how well does each picked frame stand in
    for the frames of its segment? Training then refines the mix.
    """

    def __init__(self, config: ViLAConfig):
        super().__init__()
        self.config = config
        S, T, Q = config.segments, config.teacher_frames, config.n_query
        L = config.frames_per_segment
        weight = torch.zeros(T, Q, S, Q)
        for t in range(T):
            weight[t, :, t // L, :] = torch.eye(Q)  # frame t copies its segment's pick
        self.weight = nn.Parameter(weight.reshape(T * Q, S * Q))  # (T*Q, S*Q)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        n_in = self.weight.shape[1]  # S*Q
        assert tokens.shape[1] == n_in, (
            f"TokenLift maps {n_in} student tokens (segments x n_query), got {tokens.shape[1]}"
        )
        return torch.einsum("ts,bsh->bth", self.weight, tokens)  # (B, T*Q, H)


def distill_loss(
    answer_logits: torch.Tensor,
    target: torch.Tensor,
    teacher_tokens: torch.Tensor,
    lifted_student_tokens: torch.Tensor,
    lam: float,
) -> dict[str, torch.Tensor]:
    """``{"loss": ce + lam * mse, "ce": ..., "mse": ...}``; logits (B, O), target (B,) long,
    tokens (B, T*Q, H). The teacher's tokens are detached: gradients go to the student only."""
    assert teacher_tokens.shape == lifted_student_tokens.shape, (
        f"teacher tokens {tuple(teacher_tokens.shape)} and lifted student tokens "
        f"{tuple(lifted_student_tokens.shape)} must match; check segments/teacher_frames"
    )
    ce = F.cross_entropy(answer_logits, target)
    mse = F.mse_loss(lifted_student_tokens, teacher_tokens.detach())
    return {"loss": ce + lam * mse, "ce": ce, "mse": mse}
