"""``vila:CHECKPOINT`` (student) and ``vila-teacher:CHECKPOINT`` as answerers.

Both read the selected frames' patch tokens (the token path with keyframes at full
resolution) and score the options with the trained Q-Former and answer head: the encoder's
patches for the feature host, the vision tower's (cached per video) for InstructBLIP.
"""

from __future__ import annotations

import numpy as np
import torch

from framesift.answer import Answer, AnswerRequest
from framesift.encode import Encoder
from framesift.errors import InputError
from framesift.vila.data import FeatureBatch
from framesift.vila.selector import load_model


class ViLAAnswerer:
    """The student: Q-Former over the S prompted frames (any keyframes given), answer head."""

    spec_argument = "checkpoint"
    open_ended = False
    needs_tokens = True
    stage = "student"

    def __init__(self, checkpoint: str, *, encoder: Encoder):
        self.model = load_model(checkpoint)
        self.encoder = encoder
        self.patch_encoder = self.model.patch_encoder(encoder)

    @torch.no_grad()
    def answer(self, request: AnswerRequest) -> Answer:
        question, options, sequence = request.question, request.options, request.tokens
        if sequence is None:
            raise InputError("ViLA answers from the keyframes' patch tokens; none were prepared")
        if not options:
            raise InputError("ViLA answers multiple-choice questions; give options")
        keep = sequence.is_keyframe_token
        frames = torch.unique(sequence.frame_of_token[keep])
        patches = (
            sequence.embeddings[keep]
            .float()
            .reshape(len(frames), -1, sequence.embeddings.shape[-1])
        )
        texts = torch.from_numpy(self.encoder.encode_text([question, *options]))  # (1 + O, D)
        batch = FeatureBatch(
            frames=texts[:1, None],  # unused: the frames are already chosen
            patches=patches[None],  # (1, F, P, D')
            question=texts[:1],
            options=texts[1:][None],
            option_mask=torch.ones(1, len(options), dtype=torch.bool),
            answer=torch.zeros(1, dtype=torch.long),
            question_text=[question],
            option_text=[list(options)],
        )
        logits = self.model.answer_frames(batch.to(self.model.device), self.stage)[0]
        logits = logits.float().cpu()  # (O,)
        best = int(np.argmax(logits.numpy()))
        return Answer(best, options[best], [float(v) for v in logits])


class ViLATeacherAnswerer(ViLAAnswerer):
    """The teacher: its own frozen Q-Former over all the frames it is given (T = 32 in ViLA)."""

    stage = "teacher"
