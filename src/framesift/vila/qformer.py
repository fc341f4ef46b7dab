"""Q-Former (BLIP-2 style, question-conditioned) and the answer head that scores options.

Each frame is summarised independently into Q visual tokens: learned query tokens, shifted by
a projection of the question, attend to each other and to that frame's patches. The answer
head stands in for the frozen language model of the paper: it pools the visual tokens with the
question as the query and scores each option embedding against the result.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from framesift.vila.config import ViLAConfig


class Attention(nn.Module):
    """Multi-head attention from ``x`` to ``context`` (self-attention when they are the same)."""

    def __init__(self, config: ViLAConfig):
        super().__init__()
        self.n_head, self.dropout = config.n_head, config.dropout
        H = config.hidden
        self.q = nn.Linear(H, H)
        self.kv = nn.Linear(H, 2 * H)
        self.proj = nn.Linear(H, H)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        N, Lq, H = x.shape
        K, nh = context.shape[1], self.n_head
        q = self.q(x).view(N, Lq, nh, H // nh).transpose(1, 2)  # (N, nh, Lq, hs)
        k, v = self.kv(context).split(H, dim=-1)  # (N, K, H) each
        k = k.view(N, K, nh, H // nh).transpose(1, 2)  # (N, nh, K, hs)
        v = v.view(N, K, nh, H // nh).transpose(1, 2)  # (N, nh, K, hs)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p)  # (N, nh, Lq, hs)
        return self.proj(y.transpose(1, 2).reshape(N, Lq, H))  # (N, Lq, H)


class Block(nn.Module):
    """Pre-LN: self-attention over the queries, cross-attention to the patches, MLP."""

    def __init__(self, config: ViLAConfig):
        super().__init__()
        H = config.hidden
        self.ln_1, self.self_attn = nn.LayerNorm(H), Attention(config)
        self.ln_2, self.cross_attn = nn.LayerNorm(H), Attention(config)
        self.ln_3 = nn.LayerNorm(H)
        self.mlp = nn.Sequential(
            nn.Linear(H, config.mlp_ratio * H),
            nn.GELU(),
            nn.Linear(config.mlp_ratio * H, H),
            nn.Dropout(config.dropout),
        )

    def forward(self, x: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
        h = self.ln_1(x)  # (N, Q, H)
        x = x + self.self_attn(h, h)
        x = x + self.cross_attn(self.ln_2(x), patches)  # patches (N, P, H), already normalised
        return x + self.mlp(self.ln_3(x))  # (N, Q, H)


class QFormer(nn.Module):
    """Patches of F frames (B, F, P, D') and question (B, D) -> visual tokens (B, F*Q, H).

    Any number of frames: the teacher runs it over T frames, the student over its S picks.
    Frames are processed independently (folded into the batch), so a frame's tokens do not
    depend on which other frames were picked, and tokens come out in the frames' order.
    """

    def __init__(self, config: ViLAConfig):
        super().__init__()
        self.config = config
        H = config.hidden
        self.query = nn.Parameter(0.02 * torch.randn(config.n_query, H))  # (Q, H)
        # Unit-norm embeddings have entries ~ 1/sqrt(D); a LayerNorm first brings them to the
        # unit scale that default initialisations assume (else they barely move the queries).
        self.ln_question = nn.LayerNorm(config.embed_dim)
        self.question_proj = nn.Linear(config.embed_dim, H)  # conditions the queries
        self.patch_proj = nn.Linear(config.patch_dim, H)
        self.ln_patch = nn.LayerNorm(H)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(H)

    def forward(self, patches: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        B, F_, P, Dp = patches.shape
        Q, H = self.config.n_query, self.config.hidden
        assert Dp == self.config.patch_dim, (
            f"patches have dim {Dp}, the Q-Former was built for patch_dim "
            f"{self.config.patch_dim}; use a config that matches the encoder"
        )
        assert question.shape == (B, self.config.embed_dim), (
            f"question must be (B, embed_dim) = {(B, self.config.embed_dim)}, "
            f"got {tuple(question.shape)}"
        )
        kv = self.ln_patch(self.patch_proj(patches)).reshape(B * F_, P, H)  # (B*F, P, H)
        cond = self.question_proj(self.ln_question(question))  # (B, H)
        q = self.query + cond[:, None, None, :]  # (B, 1, Q, H): question-conditioned queries
        x = q.expand(B, F_, Q, H).reshape(B * F_, Q, H)  # (B*F, Q, H), one set per frame
        for block in self.blocks:
            x = block(x, kv)
        return self.ln_f(x).reshape(B, F_ * Q, H)  # (B, F*Q, H), frame-major: temporal order


class AnswerHead(nn.Module):
    """Scores options (B, O, D) given visual tokens (B, N, H) and question (B, D) -> (B, O).

    The question attention-pools the tokens (so it can find the frame that holds the answer
    among many), the pooled vector is projected to D and added to a projection of the
    question, and each projected option is scored by a dot product with that context.
    """

    def __init__(self, config: ViLAConfig):
        super().__init__()
        D, H = config.embed_dim, config.hidden
        self.ln = nn.LayerNorm(H)
        self.ln_question = nn.LayerNorm(D)  # unit-norm text -> unit-scale entries, as in QFormer
        self.ln_option = nn.LayerNorm(D)
        self.pool_query = nn.Linear(D, H)
        self.visual_proj = nn.Linear(H, D)
        self.question_proj = nn.Linear(D, D)
        self.option_proj = nn.Linear(D, D)
        # Options start in the encoder's own text space (identity) and the question term at
        # zero: the head then learns to map what it sees *into* that space, a skill that
        # carries over to option words never seen in training, instead of memorising labels.
        nn.init.eye_(self.option_proj.weight)
        nn.init.zeros_(self.option_proj.bias)
        nn.init.zeros_(self.question_proj.weight)
        nn.init.zeros_(self.question_proj.bias)
        nn.init.zeros_(self.visual_proj.weight)  # the learned path starts silent: at init the
        nn.init.zeros_(self.visual_proj.bias)  # evidence term below answers on its own
        self.scale = 1 / math.sqrt(D)  # dot products of D unit-scale entries: keep logits O(1)
        # Evidence: how well each option matches its best patch, in the frozen encoder's shared
        # text-image space. Parameter-free apart from its weight, it holds for any option
        # words; the learned path above adds what the Q-Former reads on top of it.
        self.evidence_weight = nn.Parameter(torch.tensor(10.0))

    def forward(
        self,
        tokens: torch.Tensor,
        question: torch.Tensor,
        options: torch.Tensor,
        option_mask: torch.Tensor | None = None,
        patches: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``patches`` (B, F, P, D'): the frames' patch embeddings, for the evidence term when
        they share the options' space (D' == D)."""
        B, _, H = tokens.shape  # (B, N, H)
        n_opt = options.shape[1]  # O
        assert options.shape[0] == B and question.shape[0] == B, (
            f"batch sizes differ: tokens {B}, question {question.shape[0]}, "
            f"options {options.shape[0]}"
        )
        t = self.ln(tokens)  # (B, N, H)
        q = self.ln_question(question)  # (B, D)
        att = torch.einsum("bnh,bh->bn", t, self.pool_query(q)) / math.sqrt(H)  # (B, N)
        pooled = torch.einsum("bn,bnh->bh", att.softmax(-1), t)  # (B, H)
        context = self.visual_proj(pooled) + self.question_proj(q)  # (B, D)
        opts = self.option_proj(self.ln_option(options))  # (B, O, D)
        logits = torch.einsum("bod,bd->bo", opts, context) * self.scale  # (B, O)
        if patches is not None and patches.shape[-1] == options.shape[-1]:
            cells = F.normalize(patches.flatten(1, 2), dim=-1)  # (B, F*P, D)
            match = torch.einsum("bod,bnd->bon", F.normalize(options, dim=-1), cells)  # (B, O, F*P)
            logits = logits + self.evidence_weight * match.amax(-1)  # (B, O)
        if option_mask is None:
            return logits
        assert option_mask.shape == (B, n_opt) and option_mask.dtype == torch.bool, (
            f"option_mask must be bool (B, O) = {(B, n_opt)}, got {option_mask.dtype} "
            f"{tuple(option_mask.shape)}"
        )
        assert bool(option_mask.any(-1).all()), "every sample needs at least one valid option"
        return logits.masked_fill(~option_mask, float("-inf"))  # padded options never win
