"""ViLAMP differential feature merging (DFM): each non-keyframe becomes one token.

For a frame's patches ``x_p``, its reference keyframe's patches ``k_p`` at the same positions
and the query ``q``::

    s_p = ( cos(Wq q, Wiq x_p) - cos(Wk k_p, Wik x_p) ) / t
    w   = softmax_p(s)          token = sum_p w_p x_p

Patches relevant to the query gain weight, patches that repeat the keyframe lose it. The
training-free form uses identity projections and a fixed ``t``; the learned form
(``DFMProjections``) learns the four projections and ``log t`` (initialised to t = 0.01).
"""

from __future__ import annotations

import math
import os

import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from framesift.errors import InputError

# Training-free temperature. Both cosines lie in [-1, 1], so s * t spans at most [-2, 2], and
# with raw encoder features the per-patch spread is typically ~0.1 (query) to ~0.5 (keyframe).
# At t = 0.01 a cosine gap of 0.1 is a weight ratio of e^10 ~ 22000: the merge collapses onto
# one patch, which only makes sense once learned projections have calibrated the cosines. At
# t = 0.1 the same gap is a ratio of e ~ 2.7: the token stays a weighted average of the frame
# that still leans clearly towards relevant, changed patches.
DEFAULT_TEMPERATURE = 0.1
LEARNED_INIT_TEMPERATURE = 0.01  # the paper's init for the learned temperature
_FORMAT = "framesift.dfm.v1"  # safetensors metadata tag; dims are stored beside it


def dfm_merge(
    patches: torch.Tensor,
    reference: torch.Tensor,
    query: torch.Tensor,
    temperature: float | torch.Tensor,
    projections: DFMProjections | None = None,
) -> torch.Tensor:
    """Differentiable DFM core, in float32 whatever the input dtype: (B, P, D) -> (B, D)."""
    x = patches.float()  # (B, P, D)
    k = reference.float()  # (B, P, D)
    q = query.float()  # (D,)
    if projections is None:  # training-free: identity projections
        q_q, x_q, k_k, x_k = q, x, k, x
    else:
        p = projections
        q_q, x_q, k_k, x_k = p.wq(q), p.wiq(x), p.wk(k), p.wik(x)  # (d,) (B,P,d) (B,P,d) (B,P,d)
    # Elementwise products and sums rather than matmul/einsum: BLAS kernels change with the
    # batch size, and the tokens must not depend on how the caller chunks the frames.
    x_q, q_q = F.normalize(x_q, dim=-1), F.normalize(q_q, dim=-1)  # unit vectors
    k_k, x_k = F.normalize(k_k, dim=-1), F.normalize(x_k, dim=-1)
    relevance = (x_q * q_q).sum(-1)  # (B, P) cos(Wq q, Wiq x_p)
    redundancy = (k_k * x_k).sum(-1)  # (B, P) cos(Wk k_p, Wik x_p)
    w = torch.softmax((relevance - redundancy) / temperature, dim=-1)  # (B, P)
    return (w.unsqueeze(-1) * x).sum(1)  # (B, D) weighted sum of the raw patches


class DFMProjections(nn.Module):
    """The learned form: projections ``Wq, Wiq, Wk, Wik`` (D -> proj_dim) and ``log t``.

    When ``proj_dim == dim`` (the default) the projections start as the identity, so an
    untrained module equals the training-free form at t = 0.01 and training starts from a
    working merger; otherwise they get ``nn.Linear``'s default random init.
    """

    def __init__(self, dim: int, proj_dim: int | None = None):
        super().__init__()
        self.dim, self.proj_dim = dim, proj_dim or dim
        self.wq = nn.Linear(dim, self.proj_dim, bias=False)
        self.wiq = nn.Linear(dim, self.proj_dim, bias=False)
        self.wk = nn.Linear(dim, self.proj_dim, bias=False)
        self.wik = nn.Linear(dim, self.proj_dim, bias=False)
        self.log_temperature = nn.Parameter(torch.tensor(math.log(LEARNED_INIT_TEMPERATURE)))
        if self.proj_dim == dim:
            for linear in (self.wq, self.wiq, self.wk, self.wik):
                nn.init.eye_(linear.weight)

    @property
    def temperature(self) -> torch.Tensor:
        return self.log_temperature.exp()

    def forward(
        self, patches: torch.Tensor, reference: torch.Tensor, query: torch.Tensor
    ) -> torch.Tensor:
        """Differentiable merge for training: (B, P, D) -> (B, D) float32."""
        return dfm_merge(patches, reference, query, self.temperature, self)

    def save(self, path: str | os.PathLike) -> None:
        tensors = {k: v.detach().float().cpu().contiguous() for k, v in self.state_dict().items()}
        meta = {"format": _FORMAT, "dim": str(self.dim), "proj_dim": str(self.proj_dim)}
        save_file(tensors, os.fspath(path), metadata=meta)

    @classmethod
    def load(cls, path: str | os.PathLike, dim: int | None = None) -> DFMProjections:
        """Load weights written by ``save``; ``dim``, when given, must match the file's."""
        if not os.path.isfile(path):
            raise InputError(f"DFM weights not found: {path} (pass the .safetensors from save())")
        try:
            with safe_open(os.fspath(path), framework="pt") as f:
                meta = f.metadata() or {}
                tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118 (safe_open is not iterable)
        except SafetensorError as e:
            raise InputError(f"{path} is not a readable safetensors file: {e}") from e
        if meta.get("format") != _FORMAT:
            raise InputError(f"{path} holds no framesift DFM weights (metadata {meta})")
        module = cls(int(meta["dim"]), int(meta["proj_dim"]))
        if dim is not None and dim != module.dim:
            raise InputError(f"{path} holds DFM weights for dim {module.dim}, expected dim {dim}")
        want = {k: tuple(v.shape) for k, v in module.state_dict().items()}
        got = {k: tuple(v.shape) for k, v in tensors.items()}
        if got != want:
            raise InputError(
                f"{path}: tensor shapes {got} do not match dim={module.dim}, "
                f"proj_dim={module.proj_dim} (expected {want}); the file is corrupt or foreign"
            )
        module.load_state_dict(tensors)
        return module.eval()


class DFMMerger:
    """DFM as a ``Merger``: training-free by default, learned with ``projections``/``weights``.

    ``weights``: path of a ``DFMProjections.save`` file: ``--merge dfm:WEIGHTS`` builds the
    learned form. ``temperature``: None uses 0.1 for the training-free form (see
    DEFAULT_TEMPERATURE) and the learned value for the learned form; a number overrides either.
    """

    spec_argument = "weights"
    uses_query = True

    def __init__(
        self,
        projections: DFMProjections | None = None,
        temperature: float | None = None,
        weights: str | os.PathLike | None = None,
    ):
        if projections is not None and weights is not None:
            raise InputError("pass DFM projections or a weights path, not both")
        if temperature is not None and not temperature > 0:
            raise InputError(f"DFM temperature must be > 0, got {temperature}")
        self.projections = DFMProjections.load(weights) if weights is not None else projections
        self.temperature = temperature

    def merge(
        self, patches: torch.Tensor, reference: torch.Tensor, query: torch.Tensor
    ) -> torch.Tensor:
        if patches.ndim != 3 or reference.shape != patches.shape:
            raise InputError(
                f"DFM needs patches and reference of the same (B, P, D) shape, "
                f"got {tuple(patches.shape)} and {tuple(reference.shape)}"
            )
        dim = patches.shape[-1]
        if query.shape != (dim,):
            raise InputError(f"DFM query must be ({dim},) like the patches, got {query.shape}")
        if self.projections is not None and self.projections.dim != dim:
            raise InputError(
                f"DFM weights are for dim {self.projections.dim}, patches have dim {dim}; "
                "load weights trained for this encoder"
            )
        with torch.inference_mode():
            t = self.temperature
            if self.projections is not None:
                self.projections.to(patches.device)  # no-op when already there
                t = self.projections.temperature if t is None else t
            t = DEFAULT_TEMPERATURE if t is None else t
            token = dfm_merge(patches, reference, query, t, self.projections)  # (B, D) float32
            return token.to(patches.dtype)
