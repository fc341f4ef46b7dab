"""ViLA architecture hyperparameters: one dataclass, stored beside the weights as config.json.

Defaults are sized for CPU training on cached features of the bundled encoder (D = D' = 384).
The paper's values, where they differ, are given in the comments.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from framesift.errors import InputError


@dataclass(frozen=True)
class ViLAConfig:
    embed_dim: int = 384  # D: frame, question and option embeddings (one shared space)
    patch_dim: int = 384  # D': per-frame patch embeddings
    n_query: int = 8  # Q: learned query tokens per frame (ViLA/BLIP-2: 32)
    hidden: int = 128  # H: Q-Former width (BLIP-2: 768)
    n_layer: int = 2  # Q-Former blocks (BLIP-2: 12)
    n_head: int = 4
    mlp_ratio: int = 4
    dropout: float = 0.0
    prompter_hidden: int = 128  # Frame-Prompter scorer MLP width
    segments: int = 4  # S: frames the student sees, one per segment (ViLA: 4)
    teacher_frames: int = 32  # T: frames the teacher sees (ViLA: 32)
    tau_start: float = 1.0  # Gumbel-softmax temperature, annealed exponentially ...
    tau_end: float = 0.01  # ... towards this over training
    distill_lambda: float = 0.01  # weight of the token MSE against the answer CE
    # The Q-Former host: "qformer" (the small one above, over frozen encoder features) or
    # "instructblip[:MODEL_ID]" (InstructBLIP-Video's own Q-Former and language model; the
    # sizes above other than n_query do not apply, n_query is the model's query count).
    host: str = "qformer"
    lora_rank: int = 0  # instructblip: LoRA rank on the language model, 0 keeps it frozen
    host_dtype: str = "float32"  # instructblip: weights dtype (bfloat16 halves GPU memory)

    def __post_init__(self) -> None:
        ints = ("embed_dim", "patch_dim", "n_query", "hidden", "n_layer", "n_head", "mlp_ratio")
        for name in (*ints, "prompter_hidden", "segments", "teacher_frames"):
            if not getattr(self, name) >= 1:
                raise InputError(f"ViLAConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.hidden % self.n_head:
            raise InputError(
                f"ViLAConfig.hidden ({self.hidden}) must be a multiple of n_head ({self.n_head})"
            )
        if self.teacher_frames % self.segments:
            raise InputError(
                f"ViLAConfig.teacher_frames ({self.teacher_frames}) must be a multiple of "
                f"segments ({self.segments}): the prompter cuts the frames into equal segments"
            )
        if not 0 < self.tau_end <= self.tau_start:
            raise InputError(
                f"need 0 < tau_end <= tau_start, got tau_start={self.tau_start}, "
                f"tau_end={self.tau_end}"
            )
        if not 0.0 <= self.dropout < 1.0 or self.distill_lambda < 0:
            raise InputError(
                f"need 0 <= dropout < 1 and distill_lambda >= 0, got dropout={self.dropout}, "
                f"distill_lambda={self.distill_lambda}"
            )

        if self.host_kind not in ("qformer", "instructblip"):
            raise InputError(
                f"unknown ViLA host {self.host!r}; use 'qformer' or 'instructblip[:MODEL_ID]'"
            )
        if self.host_kind == "qformer" and (self.host != "qformer" or self.lora_rank):
            raise InputError("the 'qformer' host takes no model id and no LoRA")
        if isinstance(self.lora_rank, bool) or not isinstance(self.lora_rank, int):
            raise InputError(f"lora_rank must be an integer, got {self.lora_rank!r}")
        if self.lora_rank < 0 or self.host_dtype not in ("float32", "bfloat16", "float16"):
            raise InputError(
                f"need lora_rank >= 0 and host_dtype float32, bfloat16 or float16, got "
                f"lora_rank={self.lora_rank}, host_dtype={self.host_dtype!r}"
            )

    @property
    def host_kind(self) -> str:
        """The host's registry name: ``host`` up to its first colon."""
        return self.host.partition(":")[0]

    @property
    def host_model(self) -> str | None:
        """The model id or folder after the colon, if any."""
        return self.host.partition(":")[2] or None

    @property
    def frames_per_segment(self) -> int:
        return self.teacher_frames // self.segments  # L = T / S

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ViLAConfig:
        """Build from a dict (config.json); an unknown key raises instead of being ignored."""
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            valid = ", ".join(f.name for f in fields(cls))
            raise InputError(f"unknown ViLAConfig keys {unknown}; valid keys: {valid}")
        return cls(**d)


@dataclass(frozen=True)
class TrainConfig:
    benchmark: str
    annotations: str
    videos: str
    out: str
    val_annotations: str | None = None
    val_videos: str | None = None
    encoder: str = "bundled"
    cache_dir: str | None = None
    teacher_epochs: int = 10
    student_epochs: int = 10
    batch_size: int = 32
    lr: float = 3e-4
    seed: int = 0
    distill: bool = True  # False: the student learns from the answer loss alone (ablation)
    device: str | None = None  # None: the GPU if there is one
    model: ViLAConfig = field(default_factory=ViLAConfig)

    def identity(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("out"), d.pop("cache_dir"), d.pop("device")
        return d
