"""``vila:CHECKPOINT`` as a selector: the trained Frame-Prompter picks one frame per segment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from framesift.errors import InputError
from framesift.select import SelectionRequest, uniform_indices
from framesift.vila.prompter import FramePrompter
from framesift.vila.stages import TwoStageViLA, load_prompter


def checkpoint_folder(checkpoint: str) -> Path:
    """``train vila``'s OUT/model, given that or OUT itself."""
    folder = Path(checkpoint)
    if (folder / "model").is_dir():
        folder = folder / "model"
    if not folder.is_dir():
        raise InputError(
            f"ViLA checkpoint {checkpoint} not found (train one with framesift train vila)"
        )
    return folder


@lru_cache(maxsize=4)
def load_model(checkpoint: str) -> TwoStageViLA:
    """The whole model of a checkpoint (for answering), loaded once per process."""
    return TwoStageViLA.load(checkpoint_folder(checkpoint)).eval()


@lru_cache(maxsize=4)
def cached_prompter(checkpoint: str) -> FramePrompter:
    return load_prompter(checkpoint_folder(checkpoint))


class ViLASelector:
    """Deterministic (argmax) Frame-Prompter selection, conditioned on the question.

    The prompter was trained on T evenly spaced frames, so the candidate pool is first thinned
    to T evenly spaced frames (use ``--frames T`` to make the pool exactly that). It returns
    S frames, S fixed by the checkpoint; the budget caps it.
    """

    spec_argument = "checkpoint"

    def __init__(self, checkpoint: str):
        self.prompter = cached_prompter(checkpoint)

    @torch.no_grad()
    def select(self, request: SelectionRequest) -> np.ndarray:
        request.require("query", "vila")
        query, embeddings, budget = request.query, request.embeddings, request.budget
        t = self.prompter.config.teacher_frames
        if len(embeddings) < t:
            raise InputError(
                f"the ViLA prompter reads {t} candidate frames, the pool has {len(embeddings)}; "
                f"use --frames {t}"
            )
        pool = uniform_indices(len(embeddings), t)  # (T,)
        frames = torch.from_numpy(embeddings[pool])[None]  # (1, T, D)
        question = torch.from_numpy(np.asarray(query, np.float32))[None]  # (1, D)
        chosen = self.prompter.select(frames, question)[0].numpy()  # (S,) into T
        picked = np.sort(pool[chosen])
        if budget < len(picked):  # keep the prompter's order of preference: segments in time
            picked = picked[uniform_indices(len(picked), budget)]
        return picked.astype(np.int64)
