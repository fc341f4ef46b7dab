"""Zero-shot multiple choice: the option whose text best matches a selected keyframe."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from framesift.answer.base import Answer, Evidence
from framesift.encode import Encoder
from framesift.errors import InputError

if TYPE_CHECKING:
    from framesift.compress.sequence import TokenSequence


class SimilarityAnswerer:
    """Scores option j by max over keyframes k of cos(text(option_j), frame_k).

    The max (not the mean) because a question usually hinges on one moment; averaging would
    let the many keyframes that do not show it outvote the one that does. Ties go to the
    earlier option, so answers are deterministic.
    """

    open_ended = False

    def __init__(self, encoder: Encoder):
        self.encoder = encoder
        self.patch_encoder = EncoderPatches(encoder)

    def answer(self, question: str, options: list[str], evidence: Evidence) -> Answer:
        return self._best(options, evidence.embeddings)

    def answer_tokens(self, question: str, options: list[str], sequence: TokenSequence) -> Answer:
        """The same rule over the compressed sequence: keyframe patch tokens and one merged
        token per other frame, so a moment outside the keyframes can still carry an option."""
        if not options:
            raise InputError("the similarity answerer chooses among options; give --option")
        tokens = sequence.embeddings.float().numpy()  # (T, D)
        return self._best(
            options, tokens / np.linalg.norm(tokens, axis=1, keepdims=True).clip(1e-6)
        )

    def _best(self, options: list[str], visual: np.ndarray) -> Answer:
        option_embeddings = self.encoder.encode_text(options)  # (O, D)
        scores = (option_embeddings @ visual.T).max(axis=1)  # (O,)
        best = int(np.argmax(scores))
        return Answer(index=best, text=options[best], option_scores=[float(s) for s in scores])


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
