"""ViLA on InstructBLIP-Video: the Frame-Prompter and QFormer-Distiller around its Q-Former.

One frozen vision tower and language model serve both roles; the teacher and the student each
own a ``Bridge`` (query tokens, Q-Former, language projection) and, with LoRA, an adapter on
the language model (``teacher`` / ``student``). The teacher's bridge starts as the pretrained
one, the student's as a copy of the trained teacher's (stage 2). The patches the Q-Former reads
are the vision tower's outputs, cached per video, so training never runs the tower twice on a
frame. Checkpoints store only what trains (prompter, lift, both bridges, LoRA adapters) and
the model id in ``config.host``; loading rebuilds the frozen parts from that id.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from framesift.errors import InputError
from framesift.vila.config import ViLAConfig
from framesift.vila.data import FeatureBatch
from framesift.vila.distill import TokenLift
from framesift.vila.instructblip import DEFAULT_MODEL, InstructBlipVideoHost
from framesift.vila.prompter import FramePrompter
from framesift.vila.stages import Stage, TwoStageViLA

_TRAINED = ("prompter.", "lift.", "teacher_bridge.", "student_bridge.")


class InstructBlipViLA(TwoStageViLA):
    """``config.host`` = ``instructblip[:MODEL_ID]`` (default the paper's Flan-T5-XL one);
    ``config.n_query`` is set to the model's query count, ``embed_dim`` is the prompter's
    (framesift encoder) width. ``host``: an already loaded host of the same model, to share."""

    def __init__(self, config: ViLAConfig, host: InstructBlipVideoHost | None = None):
        super().__init__()
        if host is None:
            host = load_host(config)
        n_query = host.model.config.num_query_tokens
        if config.n_query != n_query:
            config = replace(config, n_query=n_query)
        self.config = config
        self.host = host
        self.teacher_bridge = host.bridge
        self.student_bridge = host.bridge.copy()
        self.prompter = FramePrompter(config)
        self.lift = TokenLift(config)

    def stage_modules(self, stage: Stage) -> list[nn.Module]:
        if stage == "teacher":
            return [self.teacher_bridge, *self.host.lora_modules("teacher")]
        return [self.prompter, self.student_bridge, self.lift, *self.host.lora_modules("student")]

    def copy_teacher_into_student(self) -> None:
        self.student_bridge.load_state_dict(self.teacher_bridge.state_dict())
        teacher, student = self.host.lora_modules("teacher"), self.host.lora_modules("student")
        for t, s in zip(teacher, student, strict=True):
            s.load_state_dict(t.state_dict())

    def tokens(self, patches: torch.Tensor, batch: FeatureBatch, stage: Stage) -> torch.Tensor:
        bridge = self.teacher_bridge if stage == "teacher" else self.student_bridge
        return self.host.qformer_tokens(patches, _texts(batch), bridge)  # (B, F*Q, H_lm)

    def head(
        self, tokens: torch.Tensor, patches: torch.Tensor, batch: FeatureBatch, stage: Stage
    ) -> torch.Tensor:
        logits = self.host.answer_logits(tokens, _texts(batch), batch.option_text, adapter=stage)
        return logits.to(batch.answer.device)  # (B, O); -inf beyond each question's options

    def patch_encoder(self, encoder: object) -> InstructBlipVideoHost:
        """The vision tower: the patch cache holds its outputs for this model's videos."""
        return self.host

    def checkpoint_state(self) -> dict[str, torch.Tensor]:
        return {
            k: v for k, v in self.state_dict().items() if k.startswith(_TRAINED) or "lora_" in k
        }


def load_host(config: ViLAConfig) -> InstructBlipVideoHost:
    """The host ``config`` names, with ``teacher`` and ``student`` LoRA adapters if any."""
    if config.host_kind != "instructblip":
        raise InputError(f"{config.host!r} is not an InstructBLIP host")
    model_id = config.host_model or DEFAULT_MODEL
    try:
        return InstructBlipVideoHost(
            model_id,
            lora=config.lora_rank > 0,
            lora_rank=max(config.lora_rank, 1),
            adapters=("teacher", "student"),
            dtype=config.host_dtype,
        )
    except OSError as e:  # not on the hub, not a folder, or a folder without the model
        raise InputError(f"cannot load the InstructBLIP-Video model {model_id!r}: {e}") from e


def _texts(batch: FeatureBatch) -> list[str]:
    if len(batch.question_text) != len(batch):
        raise InputError("the InstructBLIP host reads the question text; the batch has none")
    return batch.question_text
