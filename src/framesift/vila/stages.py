"""ViLA's two training stages over any Q-Former host, and its checkpoints.

    stage 1  teacher_forward        all T frames -> teacher tokens -> teacher answer
    stage 2  init_student_from_teacher()   copy the teacher's trained parts into the student
    stage 3  distillation_forward   prompter picks S frames -> student tokens -> student answer;
                                    CE + lam * MSE(frozen teacher tokens, lift(student tokens))
    infer    student_forward in eval mode (argmax selection, no noise)

A host supplies two things per stage: ``tokens`` (a Q-Former over frame patches, giving F*Q
visual tokens) and ``head`` (scores the options from those tokens). ``ViLAModel`` is the small
host that trains on this machine over frozen encoder features; ``InstructBlipViLA`` is
InstructBLIP-Video's Q-Former and language model. The stages, the Frame-Prompter, the token
lift and the checkpoint format are the same for both, and live here.

The teacher and the student own separate weights (no shared parameter), and once the student
stage starts the teacher is frozen (requires_grad False, kept in eval mode): the reference code
instead runs the teacher's frames through the student's Q-Former.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from framesift.encode import Encoder
from framesift.encode.base import PatchEncoder
from framesift.errors import InputError
from framesift.registry import Registry
from framesift.vila.config import ViLAConfig
from framesift.vila.data import FeatureBatch
from framesift.vila.distill import distill_loss
from framesift.vila.prompter import FramePrompter, gather, selection_indices

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
_FORMAT = "framesift.vila.v1"  # safetensors metadata tag

Stage = Literal["teacher", "student"]

HOSTS: Registry[TwoStageViLA] = Registry(
    "ViLA host",
    {
        "qformer": "framesift.vila.model:ViLAModel",
        "instructblip": "framesift.vila.host_model:InstructBlipViLA",
    },
)


class TwoStageViLA(nn.Module):
    """Stage bookkeeping, the stage forwards and checkpoint I/O; subclasses are hosts.

    Subclasses set ``config``, ``prompter`` and ``lift``, and implement ``stage_modules``,
    ``copy_teacher_into_student``, ``tokens`` and ``head``.
    """

    config: ViLAConfig
    teacher_frozen: bool = False  # stage 1 trains the teacher; freeze_teacher() ends that

    # --- what a host provides ----------------------------------------------------------------

    def stage_modules(self, stage: Stage) -> list[nn.Module]:
        """The modules a stage trains (the student's include ``prompter`` and ``lift``)."""
        raise NotImplementedError

    def copy_teacher_into_student(self) -> None:
        raise NotImplementedError

    def tokens(self, patches: torch.Tensor, batch: FeatureBatch, stage: Stage) -> torch.Tensor:
        """patches (B, F, P, D') of any F -> visual tokens (B, F*Q, H), frame by frame."""
        raise NotImplementedError

    def head(
        self, tokens: torch.Tensor, patches: torch.Tensor, batch: FeatureBatch, stage: Stage
    ) -> torch.Tensor:
        """(B, F*Q, H) tokens of the frames ``patches`` -> (B, O) option logits, -inf where
        ``batch.option_mask`` is False."""
        raise NotImplementedError

    def checkpoint_state(self) -> dict[str, torch.Tensor]:
        """What a checkpoint stores: the trained weights (all of them, by default)."""
        return self.state_dict()

    def patch_encoder(self, encoder: Encoder) -> PatchEncoder:
        """Where the patches ``tokens`` reads come from: the encoder's, by default."""
        from framesift.answer.similarity import EncoderPatches

        return EncoderPatches(encoder)

    @property
    def device(self) -> torch.device:
        return next(self.prompter.parameters()).device

    # --- stages ----------------------------------------------------------------------------

    def _modules_of(self, stage: str) -> list[nn.Module]:
        if stage not in ("teacher", "student"):
            raise InputError(f"unknown ViLA training stage {stage!r}; use 'teacher' or 'student'")
        return self.stage_modules(stage)

    def freeze_teacher(self) -> None:
        """Teacher weights become fixed targets: no gradients, eval mode (kept by ``train``)."""
        for module in self._modules_of("teacher"):
            module.requires_grad_(False).eval()
        self.teacher_frozen = True

    def train(self, mode: bool = True) -> TwoStageViLA:
        super().train(mode)
        if self.teacher_frozen:  # model.train() must not put a frozen teacher in train mode
            for module in self._modules_of("teacher"):
                module.eval()
        return self

    def trainable_parameters(self, stage: Stage) -> list[nn.Parameter]:
        """Parameters an optimiser should update in ``stage``, and makes only those trainable.

        "teacher": the teacher's parts (unfreezes the teacher). "student": prompter, student
        parts and the token lift; freezes the teacher.
        """
        modules = self._modules_of(stage)
        if stage == "student":
            self.freeze_teacher()
        else:
            self.teacher_frozen = False
            self.train(self.training)
        for module in modules:
            module.requires_grad_(True)
        return list(dict.fromkeys(p for module in modules for p in module.parameters()))

    @torch.no_grad()
    def init_student_from_teacher(self) -> None:
        """ViLA stage 2: copy the trained teacher's parts into the student.

        Values are copied into the student's own tensors (no sharing), and the teacher is
        frozen: from here on it only provides distillation targets.
        """
        self.copy_teacher_into_student()
        self.freeze_teacher()

    # --- forward passes -----------------------------------------------------------------------

    def answer_frames(self, batch: FeatureBatch, stage: Stage = "student") -> torch.Tensor:
        """Answer from the frames in ``batch.patches`` (B, F, P, D'), chosen elsewhere (any
        selector; all T for the teacher) -> logits (B, O)."""
        self._modules_of(stage)  # validates the name
        return self.head(self.tokens(batch.patches, batch, stage), batch.patches, batch, stage)

    def teacher_forward(self, batch: FeatureBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """All frames -> logits (B, O), tokens (B, T*Q, H)."""
        tokens = self.tokens(batch.patches, batch, "teacher")
        return self.head(tokens, batch.patches, batch, "teacher"), tokens

    def student_forward(
        self, batch: FeatureBatch, tau: float = 1.0, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Prompter picks S of the T frames, the student answers from those only.

        -> logits (B, O), tokens (B, S*Q, H), indices (B, S) long into T, in temporal order.
        """
        frames, patches = batch.frames, batch.patches
        assert frames.shape[:2] == patches.shape[:2], (
            f"frames {tuple(frames.shape)} and patches {tuple(patches.shape)} must describe "
            "the same (B, T) frames"
        )
        selection = self.prompter(frames, batch.question, tau, generator)  # (B, S, L) one-hot
        picked = gather(selection, patches)  # (B, S, P, D'), differentiable in the selection
        tokens = self.tokens(picked, batch, "student")  # (B, S*Q, H)
        logits = self.head(tokens, picked, batch, "student")  # (B, O)
        return logits, tokens, selection_indices(selection.detach())

    def distillation_forward(
        self,
        batch: FeatureBatch,
        tau: float = 1.0,
        lam: float | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """Stage 3 loss; ``lam`` None uses ``config.distill_lambda``.

        Returns ``loss`` (CE + lam * MSE), ``ce``, ``mse``, and for logging ``logits`` (B, O)
        and ``indices`` (B, S), both detached.
        """
        assert self.teacher_frozen, (
            "the teacher must be frozen before distillation: call "
            "init_student_from_teacher() or trainable_parameters('student') first"
        )
        T = batch.patches.shape[1]
        assert self.config.teacher_frames == T, (
            f"distillation needs the teacher's {self.config.teacher_frames} frames, got {T}"
        )
        with torch.no_grad():
            teacher_tokens = self.tokens(batch.patches, batch, "teacher")  # (B, T*Q, H)
        logits, tokens, indices = self.student_forward(batch, tau, generator)
        lifted = self.lift(tokens)  # (B, S*Q, H) -> (B, T*Q, H)
        lam = self.config.distill_lambda if lam is None else lam
        losses = distill_loss(logits, batch.answer, teacher_tokens, lifted, lam)
        return {**losses, "logits": logits.detach(), "indices": indices}

    def stage_loss(
        self,
        batch: FeatureBatch,
        stage: Stage,
        tau: float = 1.0,
        lam: float | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The loss a training step of ``stage`` minimises."""
        if stage == "teacher":
            return F.cross_entropy(self.teacher_forward(batch)[0], batch.answer)
        return self.distillation_forward(batch, tau, lam, generator)["loss"]

    def stage_logits(self, batch: FeatureBatch, stage: Stage) -> torch.Tensor:
        """(B, O) logits as the stage answers at inference (the prompter picks for the
        student; argmax in eval mode)."""
        if stage == "teacher":
            return self.teacher_forward(batch)[0]
        return self.student_forward(batch)[0]

    # --- I/O ------------------------------------------------------------------------------------

    def save(self, folder: str | os.PathLike) -> None:
        """Write ``config.json`` (the ViLAConfig) and ``model.safetensors`` into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.checkpoint_state().items()}
        tmp = folder / f"{WEIGHTS_FILE}.tmp"
        save_file(tensors, str(tmp), metadata={"format": _FORMAT})
        os.replace(tmp, folder / WEIGHTS_FILE)
        text = json.dumps(self.config.to_dict(), indent=2, sort_keys=True)
        (folder / CONFIG_FILE).write_text(text + "\n")

    def load_weights(self, folder: str | os.PathLike) -> None:
        """Load a ``save`` folder's weights into this model; keys and shapes must match."""
        weights = Path(folder) / WEIGHTS_FILE
        try:
            tensors = load_file(str(weights), device=str(self.device))
        except (SafetensorError, FileNotFoundError) as e:
            raise InputError(f"{weights} is not a readable safetensors file: {e}") from e
        want = {k: tuple(v.shape) for k, v in self.checkpoint_state().items()}
        got = {k: tuple(v.shape) for k, v in tensors.items()}
        if got != want:
            bad = sorted(k for k in want.keys() | got.keys() if want.get(k) != got.get(k))
            raise InputError(
                f"{weights} does not match its config.json at {bad[:5]} "
                f"(expected {[want.get(k) for k in bad[:5]]}, found "
                f"{[got.get(k) for k in bad[:5]]}); the folder is corrupt or mixed up"
            )
        self.load_state_dict(tensors, strict=False)  # every checkpointed key, checked above

    @classmethod
    def load(
        cls,
        folder: str | os.PathLike,
        config: ViLAConfig | None = None,
        device: str | torch.device | None = None,
    ) -> TwoStageViLA:
        """Load a ``save`` folder in eval mode, as the host its config names, on ``device``
        (default: the GPU if there is one); ``config``, when given, must equal the file's. The
        teacher comes back trainable: ``trainable_parameters("student")`` freezes it."""
        folder = Path(folder)
        saved = read_config(folder)
        if config is not None and config != saved:
            diff = {
                k: (v, getattr(saved, k))
                for k, v in config.to_dict().items()
                if getattr(saved, k) != v
            }
            raise InputError(f"{folder} was saved with another config; (expected, saved): {diff}")
        model = build_vila(saved).to(device or default_device())
        model.load_weights(folder)
        return model.eval()


def read_config(folder: Path) -> ViLAConfig:
    """A ``save`` folder's ViLAConfig, once both of its files are known to be there."""
    config_path = folder / CONFIG_FILE
    for path in (config_path, folder / WEIGHTS_FILE):
        if not path.is_file():
            raise InputError(f"{path} not found: pass a folder written by a ViLA save")
    try:
        return ViLAConfig.from_dict(json.loads(config_path.read_text()))
    except (json.JSONDecodeError, TypeError) as e:
        raise InputError(f"{config_path} is not a ViLAConfig JSON object: {e}") from e


def load_prompter(folder: str | os.PathLike) -> FramePrompter:
    """Only the Frame-Prompter of a ``save`` folder, in eval mode: selecting needs nothing
    else, and an InstructBLIP checkpoint's host is billions of parameters."""
    from safetensors import safe_open

    folder = Path(folder)
    prompter = FramePrompter(read_config(folder))
    try:
        with safe_open(str(folder / WEIGHTS_FILE), "pt") as f:
            names = f.keys()  # a safetensors handle is not iterable itself
            keys = [k for k in names if k.startswith("prompter.")]
            prompter.load_state_dict({k.removeprefix("prompter."): f.get_tensor(k) for k in keys})
    except (SafetensorError, RuntimeError) as e:
        raise InputError(f"{folder}: no readable Frame-Prompter matching config.json ({e})") from e
    return prompter.eval()


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def build_vila(config: ViLAConfig) -> TwoStageViLA:
    """A freshly initialised model for ``config.host`` (random prompter, lift and, for the
    feature host, Q-Former; a language-model host loads its pretrained weights)."""
    return HOSTS.get(config.host_kind)(config)
