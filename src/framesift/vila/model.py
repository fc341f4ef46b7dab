"""ViLAModel: teacher, student, Frame-Prompter and token lift, for ViLA's training stages.

    stage 1  teacher_forward       all T frames -> teacher Q-Former -> teacher head
    stage 2  init_student_from_teacher()   copy teacher Q-Former + head into the student
    stage 3  distillation_forward  prompter picks S frames -> student Q-Former -> student head;
                                   CE + lam * MSE(frozen teacher tokens, lift(student tokens))
    infer    student_forward in eval mode (argmax selection, no noise)

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
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from framesift.errors import InputError
from framesift.vila.config import ViLAConfig
from framesift.vila.distill import TokenLift, distill_loss
from framesift.vila.prompter import FramePrompter, gather, selection_indices
from framesift.vila.qformer import AnswerHead, QFormer

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
_FORMAT = "framesift.vila.v1"  # safetensors metadata tag

Stage = Literal["teacher", "student"]


class ViLAModel(nn.Module):
    def __init__(self, config: ViLAConfig):
        super().__init__()
        self.config = config
        self.teacher_frozen = False  # stage 1 trains the teacher; freeze_teacher() ends that
        self.teacher_qformer = QFormer(config)
        self.teacher_head = AnswerHead(config)
        self.prompter = FramePrompter(config)
        self.student_qformer = QFormer(config)
        self.student_head = AnswerHead(config)
        self.lift = TokenLift(config)

    # --- stages -----------------------------------------------------------------------------

    def _modules_of(self, stage: Stage) -> list[nn.Module]:
        if stage == "teacher":
            return [self.teacher_qformer, self.teacher_head]
        if stage == "student":
            return [self.prompter, self.student_qformer, self.student_head, self.lift]
        raise InputError(f"unknown ViLA training stage {stage!r}; use 'teacher' or 'student'")

    def freeze_teacher(self) -> None:
        """Teacher weights become fixed targets: no gradients, eval mode (kept by ``train``)."""
        for module in self._modules_of("teacher"):
            module.requires_grad_(False).eval()
        self.teacher_frozen = True

    def train(self, mode: bool = True) -> ViLAModel:
        super().train(mode)
        if self.teacher_frozen:  # model.train() must not put a frozen teacher in train mode
            for module in self._modules_of("teacher"):
                module.eval()
        return self

    def trainable_parameters(self, stage: Stage) -> list[nn.Parameter]:
        """Parameters an optimiser should update in ``stage``, and makes only those trainable.

        "teacher": teacher Q-Former + head (unfreezes the teacher). "student": prompter,
        student Q-Former + head and the token lift; freezes the teacher.
        """
        if stage == "student":
            self.freeze_teacher()
        elif stage == "teacher":
            self.teacher_frozen = False
            self.train(self.training)
        modules = self._modules_of(stage)
        for module in modules:
            module.requires_grad_(True)
        return [p for module in modules for p in module.parameters()]

    @torch.no_grad()
    def init_student_from_teacher(self) -> None:
        """ViLA stage 2: copy the trained teacher's Q-Former and head into the student.

        Values are copied into the student's own tensors (no sharing), and the teacher is
        frozen: from here on it only provides distillation targets.
        """
        self.student_qformer.load_state_dict(self.teacher_qformer.state_dict())
        self.student_head.load_state_dict(self.teacher_head.state_dict())
        self.freeze_teacher()

    # --- forward passes -----------------------------------------------------------------------

    def teacher_forward(
        self,
        patches: torch.Tensor,
        question: torch.Tensor,
        options: torch.Tensor,
        option_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """All frames: patches (B, T, P, D'), question (B, D), options (B, O, D)
        -> logits (B, O), tokens (B, T*Q, H)."""
        tokens = self.teacher_qformer(patches, question)  # (B, T*Q, H)
        logits = self.teacher_head(tokens, question, options, option_mask, patches)
        return logits, tokens

    def student_forward(
        self,
        frames: torch.Tensor,
        patches: torch.Tensor,
        question: torch.Tensor,
        options: torch.Tensor,
        option_mask: torch.Tensor | None = None,
        tau: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Prompter picks S of the T frames, the student answers from those only.

        frames (B, T, D), patches (B, T, P, D') -> logits (B, O), tokens (B, S*Q, H),
        indices (B, S) long into T, in temporal order.
        """
        assert frames.shape[:2] == patches.shape[:2], (
            f"frames {tuple(frames.shape)} and patches {tuple(patches.shape)} must describe "
            "the same (B, T) frames"
        )
        selection = self.prompter(frames, question, tau, generator)  # (B, S, L) one-hot
        picked = gather(selection, patches)  # (B, S, P, D'), differentiable in the selection
        tokens = self.student_qformer(picked, question)  # (B, S*Q, H)
        logits = self.student_head(tokens, question, options, option_mask, picked)  # (B, O)
        return logits, tokens, selection_indices(selection.detach())

    def answer_frames(
        self,
        patches: torch.Tensor,
        question: torch.Tensor,
        options: torch.Tensor,
        option_mask: torch.Tensor | None = None,
        stage: Stage = "student",
    ) -> torch.Tensor:
        """Answer from frames chosen elsewhere (any selector): the stage's Q-Former + head.

        patches (B, F, P, D') of any F, question (B, D), options (B, O, D) -> logits (B, O).
        """
        self._modules_of(stage)  # validates the name
        if stage == "teacher":
            qformer, head = self.teacher_qformer, self.teacher_head
        else:
            qformer, head = self.student_qformer, self.student_head
        tokens = qformer(patches, question)  # (B, F*Q, H)
        return head(tokens, question, options, option_mask, patches)

    def distillation_forward(
        self,
        frames: torch.Tensor,
        patches: torch.Tensor,
        question: torch.Tensor,
        options: torch.Tensor,
        option_mask: torch.Tensor | None,
        target: torch.Tensor,
        tau: float = 1.0,
        lam: float | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """Stage 3 loss; ``target`` (B,) long, ``lam`` None uses ``config.distill_lambda``.

        Returns ``loss`` (CE + lam * MSE), ``ce``, ``mse``, and for logging ``logits`` (B, O)
        and ``indices`` (B, S), both detached.
        """
        assert self.teacher_frozen, (
            "the teacher must be frozen before distillation: call "
            "init_student_from_teacher() or trainable_parameters('student') first"
        )
        T = patches.shape[1]
        assert self.config.teacher_frames == T, (
            f"distillation needs the teacher's {self.config.teacher_frames} frames, got {T}"
        )
        with torch.no_grad():
            teacher_tokens = self.teacher_qformer(patches, question)  # (B, T*Q, H)
        logits, tokens, indices = self.student_forward(
            frames, patches, question, options, option_mask, tau, generator
        )
        lifted = self.lift(tokens)  # (B, S*Q, H) -> (B, T*Q, H)
        lam = self.config.distill_lambda if lam is None else lam
        losses = distill_loss(logits, target, teacher_tokens, lifted, lam)
        return {**losses, "logits": logits.detach(), "indices": indices}

    # --- I/O ------------------------------------------------------------------------------------

    def save(self, folder: str | os.PathLike) -> None:
        """Write ``config.json`` (the ViLAConfig) and ``model.safetensors`` into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(tensors, folder / WEIGHTS_FILE, metadata={"format": _FORMAT})
        text = json.dumps(self.config.to_dict(), indent=2, sort_keys=True)
        (folder / CONFIG_FILE).write_text(text + "\n")

    @classmethod
    def load(
        cls,
        folder: str | os.PathLike,
        config: ViLAConfig | None = None,
        device: str | torch.device = "cpu",
    ) -> ViLAModel:
        """Load a ``save`` folder in eval mode; ``config``, when given, must equal the file's.

        The teacher comes back trainable: ``trainable_parameters("student")`` freezes it.
        """
        folder = Path(folder)
        weights, config_path = folder / WEIGHTS_FILE, folder / CONFIG_FILE
        for path in (config_path, weights):
            if not path.is_file():
                raise InputError(f"{path} not found: pass a folder written by ViLAModel.save")
        try:
            saved = ViLAConfig.from_dict(json.loads(config_path.read_text()))
        except (json.JSONDecodeError, TypeError) as e:
            raise InputError(f"{config_path} is not a ViLAConfig JSON object: {e}") from e
        if config is not None and config != saved:
            diff = {
                k: (v, getattr(saved, k))
                for k, v in config.to_dict().items()
                if getattr(saved, k) != v
            }
            raise InputError(f"{folder} was saved with another config; (expected, saved): {diff}")
        try:
            tensors = load_file(weights, device=str(device))
        except SafetensorError as e:
            raise InputError(f"{weights} is not a readable safetensors file: {e}") from e
        model = cls(saved).to(device)
        want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        got = {k: tuple(v.shape) for k, v in tensors.items()}
        if got != want:
            bad = sorted(k for k in want.keys() | got.keys() if want.get(k) != got.get(k))
            raise InputError(
                f"{weights} does not match its config.json at {bad[:5]} "
                f"(expected {[want.get(k) for k in bad[:5]]}, found "
                f"{[got.get(k) for k in bad[:5]]}); the folder is corrupt or mixed up"
            )
        model.load_state_dict(tensors)
        return model.eval()
