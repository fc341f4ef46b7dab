"""Zero-shot multiple choice: the option whose text best matches a selected keyframe."""

from __future__ import annotations

import numpy as np

from framesift.answer.base import Answer, AnswerRequest
from framesift.encode import Encoder
from framesift.errors import InputError


class SimilarityAnswerer:
    """Scores option j by max over keyframes k of cos(text(option_j), frame_k).

    The max (not the mean) because a question usually hinges on one moment; averaging would
    let the many keyframes that do not show it outvote the one that does. Ties go to the
    earlier option, so answers are deterministic. Given a token sequence (``--merge``), the
    same rule runs over keyframe patch tokens and one merged token per other frame, so a
    moment outside the keyframes can still carry an option.
    """

    open_ended = False
    needs_tokens = False

    def __init__(self, encoder: Encoder):
        self.encoder = encoder
        self.patch_encoder = EncoderPatches(encoder)

    def answer(self, request: AnswerRequest) -> Answer:
        if not request.options:
            raise InputError("the similarity answerer chooses among options; give --option")
        if request.tokens is None:
            visual = request.evidence.embeddings  # (K, D) unit norm
        else:
            tokens = request.tokens.embeddings.float().numpy()  # (T, D)
            visual = tokens / np.linalg.norm(tokens, axis=1, keepdims=True).clip(1e-6)
        option_embeddings = self.encoder.encode_text(request.options)  # (O, D)
        scores = (option_embeddings @ visual.T).max(axis=1)  # (O,)
        best = int(np.argmax(scores))
        return Answer(best, request.options[best], [float(s) for s in scores])


class EncoderPatches:
    """A framesift encoder's patch embeddings as a ``PatchEncoder`` (same space as its text)."""

    def __init__(self, encoder: Encoder):
        self.encoder = encoder
        self.name = f"{encoder.info.name}/patches"
        self.resize = encoder.info.resize

    def encode_patches(self, pixels: np.ndarray) -> np.ndarray:
        return self.encoder.encode_frames(pixels, with_patches=True).patches  # (B, P, D)

    def embed_query(self, text: str) -> np.ndarray:
        return self.encoder.encode_text([text])[0]  # (D,)
