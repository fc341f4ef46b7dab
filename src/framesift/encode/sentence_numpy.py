"""The bundled encoder's sentence model (all-MiniLM-L6-v2, a 6-layer BERT) run in numpy.

A question is a dozen tokens: its forward pass is ~0.1 GFLOP, ~0.02 s in numpy on one core,
while importing a runtime and building a session for it took ~0.15 s of a new process's
~0.5 s re-ask. Here the weights are memory-mapped straight from the installed
``model.safetensors`` (nothing is copied, converted or exported), so a new process embeds its
question with no model loading at all. The computation is BERT's as transformers runs it
(post-norm layers, exact erf GELU, additive attention mask) followed by sentence-transformers'
mean pooling and unit norm; ``bundled_torch.SentenceEncoder`` is the reference it is tested
against.

The trade: in a process that embeds many texts, ONNX Runtime is faster per call (a question
~0.005-0.01 s against ~0.02 s here; with four options ~0.015 s against ~0.065 s), so numpy
is ahead for roughly the first ten questions of a process (one for a CLI re-ask) and behind
after (V-NIAH with the similarity answerer: 23 -> 64 ms per question): long-lived processes
choose ``bundled``'s ``text_runtime="onnx"`` (``framesift serve`` does by default).
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from framesift.encode.artefacts import mapped_tensors

# Below this many tokens BLAS runs on one thread: waking and synchronising its threads costs
# more than they save on a question's small products (a 2-core machine with other work
# running: 0.06-0.07 s for a question on one thread, 0.09-0.37 s on two).
SINGLE_THREAD_TOKENS = 1024


class NumpySentenceEncoder:
    """(T, L) token ids and attention mask -> (T, D) unit sentence embeddings."""

    def __init__(self, folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        if config.get("hidden_act") != "gelu" or config.get("model_type") != "bert":
            raise ValueError(f"{folder} is not a BERT model with GELU activations")
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self._tensors = mapped_tensors(folder / "model.safetensors")

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        small = ids.size < SINGLE_THREAD_TOKENS
        with threadpool_limits(1, user_api="blas") if small else nullcontext():
            return self._forward(ids, mask)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, length = self._tensors, ids.shape[1]
        h = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )  # (T, L, D)
        h = self._norm(h, "embeddings.LayerNorm")
        # -inf where padded, as transformers does (with the dtype's minimum)
        padded = np.finfo(np.float32).min
        bias = np.where(mask[:, None, None, :] > 0, 0.0, padded).astype(np.float32)  # (T,1,1,L)
        for i in range(self.layers):
            h = self._layer(h, bias, f"encoder.layer.{i}")
        weights = mask[..., None].astype(np.float32)  # (T, L, 1)
        pooled = (h * weights).sum(1) / np.maximum(weights.sum(1), 1.0)  # (T, D)
        norm = np.linalg.norm(pooled, axis=-1, keepdims=True)
        return (pooled / np.maximum(norm, 1e-12)).astype(np.float32)

    def _layer(self, h: np.ndarray, bias: np.ndarray, prefix: str) -> np.ndarray:
        t, length, dim = h.shape
        split = (t, length, self.heads, dim // self.heads)
        q, k, v = (
            self._dense(h, f"{prefix}.attention.self.{name}").reshape(split).transpose(0, 2, 1, 3)
            for name in ("query", "key", "value")
        )  # (T, heads, L, d)
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(split[-1]) + bias  # (T, heads, L, L)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        context = (scores / scores.sum(-1, keepdims=True)) @ v  # (T, heads, L, d)
        context = context.transpose(0, 2, 1, 3).reshape(t, length, dim)
        attended = self._norm(
            self._dense(context, f"{prefix}.attention.output.dense") + h,
            f"{prefix}.attention.output.LayerNorm",
        )
        inner = _gelu(self._dense(attended, f"{prefix}.intermediate.dense"))
        return self._norm(
            self._dense(inner, f"{prefix}.output.dense") + attended, f"{prefix}.output.LayerNorm"
        )

    def _dense(self, x: np.ndarray, prefix: str) -> np.ndarray:
        weight, bias = self._tensors[f"{prefix}.weight"], self._tensors[f"{prefix}.bias"]
        # one 2-D product, weights on the left: for a few tokens BLAS is ~2x faster this way
        # round than as x @ weight.T (0.21 vs 0.46 ms for 8 tokens x 384 -> 1536)
        flat = (weight @ x.reshape(-1, x.shape[-1]).T).T + bias
        return flat.reshape(*x.shape[:-1], -1)

    def _norm(self, x: np.ndarray, prefix: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        scale, shift = self._tensors[f"{prefix}.weight"], self._tensors[f"{prefix}.bias"]
        return (x - mean) / np.sqrt(var + self.eps) * scale + shift


def _gelu(x: np.ndarray) -> np.ndarray:
    """x * Phi(x) with erf to float32 precision (Abramowitz & Stegun 7.1.26, error < 1.5e-7),
    as BERT's "gelu" is the exact form, not the tanh approximation."""
    z = np.abs(x) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = np.zeros_like(t)
    for coefficient in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly = (poly + coefficient) * t
    erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
    return 0.5 * x * (1.0 + erf)
