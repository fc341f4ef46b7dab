"""``vila:CHECKPOINT`` as a selector: the trained Frame-Prompter picks one frame per segment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from framesift.errors import InputError
from framesift.select.base import uniform_indices
from framesift.vila.stages import TwoStageViLA


@lru_cache(maxsize=4)
def load_model(checkpoint: str) -> TwoStageViLA:
    """A checkpoint folder (``train vila``'s OUT/model, or OUT itself) loaded once per process."""
    folder = Path(checkpoint)
    if (folder / "model").is_dir():
        folder = folder / "model"
    if not folder.is_dir():
        raise InputError(
            f"ViLA checkpoint {checkpoint} not found (train one with framesift train vila)"
        )
    return TwoStageViLA.load(folder).eval()


class ViLASelector:
    """Deterministic (argmax) Frame-Prompter selection, conditioned on the question.

    The prompter was trained on T evenly spaced frames, so the candidate pool is first thinned
    to T evenly spaced frames (use ``--frames T`` to make the pool exactly that). It returns
    S frames, S fixed by the checkpoint; the budget caps it.
    """

    def __init__(self, checkpoint: str, **_scale_defaults: object):
        self.model = load_model(checkpoint)

    @torch.no_grad()
    def select_for_query(
        self, query: np.ndarray, embeddings: np.ndarray, budget: int
    ) -> np.ndarray:
        t = self.model.config.teacher_frames
        if len(embeddings) < t:
            raise InputError(
                f"the ViLA prompter reads {t} candidate frames, the pool has {len(embeddings)}; "
                f"use --frames {t}"
            )
        pool = uniform_indices(len(embeddings), t)  # (T,)
        device = self.model.device
        frames = torch.from_numpy(embeddings[pool])[None].to(device)  # (1, T, D)
        question = torch.from_numpy(np.asarray(query, np.float32))[None].to(device)  # (1, D)
        chosen = self.model.prompter.select(frames, question)[0].cpu().numpy()  # (S,) into T
        picked = np.sort(pool[chosen])
        if budget < len(picked):  # keep the prompter's order of preference: segments in time
            picked = picked[uniform_indices(len(picked), budget)]
        return picked.astype(np.int64)
