"""ViLAModel: ViLA with the small Q-Former host that trains on this machine.

Over frozen frame and patch features from any framesift encoder, a Q-Former (learned queries
cross-attending to each frame's patches, conditioned on the question) gives the visual tokens,
and an answer head scores the options against them. Teacher and student each own a Q-Former
and a head; the stages, prompter, lift and checkpoints are ``TwoStageViLA``'s.
"""

from __future__ import annotations

import torch
from torch import nn

from framesift.vila.config import ViLAConfig
from framesift.vila.data import FeatureBatch
from framesift.vila.distill import TokenLift
from framesift.vila.prompter import FramePrompter
from framesift.vila.qformer import AnswerHead, QFormer
from framesift.vila.stages import Stage, TwoStageViLA


class ViLAModel(TwoStageViLA):
    def __init__(self, config: ViLAConfig):
        super().__init__()
        self.config = config
        self.teacher_qformer = QFormer(config)
        self.teacher_head = AnswerHead(config)
        self.prompter = FramePrompter(config)
        self.student_qformer = QFormer(config)
        self.student_head = AnswerHead(config)
        self.lift = TokenLift(config)

    def stage_modules(self, stage: Stage) -> list[nn.Module]:
        if stage == "teacher":
            return [self.teacher_qformer, self.teacher_head]
        return [self.prompter, self.student_qformer, self.student_head, self.lift]

    def copy_teacher_into_student(self) -> None:
        self.student_qformer.load_state_dict(self.teacher_qformer.state_dict())
        self.student_head.load_state_dict(self.teacher_head.state_dict())

    def tokens(self, patches: torch.Tensor, batch: FeatureBatch, stage: Stage) -> torch.Tensor:
        qformer = self.teacher_qformer if stage == "teacher" else self.student_qformer
        return qformer(patches, batch.question)  # (B, F*Q, H)

    def head(
        self, tokens: torch.Tensor, patches: torch.Tensor, batch: FeatureBatch, stage: Stage
    ) -> torch.Tensor:
        head = self.teacher_head if stage == "teacher" else self.student_head
        return head(tokens, batch.question, batch.options, batch.option_mask, patches)
