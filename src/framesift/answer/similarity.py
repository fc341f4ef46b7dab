"""Zero-shot multiple choice: the option whose text best matches a selected keyframe."""

from __future__ import annotations

import numpy as np

from framesift.answer.base import Answer, Evidence
from framesift.encode import Encoder


class SimilarityAnswerer:
    """Scores option j by max over keyframes k of cos(text(option_j), frame_k).

    The max (not the mean) because a question usually hinges on one moment; averaging would
    let the many keyframes that do not show it outvote the one that does. Ties go to the
    earlier option, so answers are deterministic.
    """

    def __init__(self, encoder: Encoder):
        self.encoder = encoder

    def answer(self, question: str, options: list[str], evidence: Evidence) -> Answer:
        option_embeddings = self.encoder.encode_text(options)  # (O, D)
        scores = (option_embeddings @ evidence.embeddings.T).max(axis=1)  # (O,)
        best = int(np.argmax(scores))
        return Answer(index=best, text=options[best], option_scores=[float(s) for s in scores])
