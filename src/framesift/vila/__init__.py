"""ViLA (arXiv 2312.08367): learnable, question-guided Frame-Prompter and QFormer-Distiller.

Modules work on cached features (frame, patch and text embeddings, or a vision tower's
outputs), never on pixels.
Names resolve on first access, so importing this package does not import torch.
"""

from __future__ import annotations

from framesift.registry import lazy_attributes

_LAZY = {
    "ViLAConfig": "framesift.vila.config",
    "FramePrompter": "framesift.vila.prompter",
    "anneal": "framesift.vila.prompter",
    "gather": "framesift.vila.prompter",
    "gumbel_one_hot": "framesift.vila.prompter",
    "selection_indices": "framesift.vila.prompter",
    "QFormer": "framesift.vila.qformer",
    "AnswerHead": "framesift.vila.qformer",
    "TokenLift": "framesift.vila.distill",
    "distill_loss": "framesift.vila.distill",
    "ViLAModel": "framesift.vila.model",
    "TwoStageViLA": "framesift.vila.stages",
    "build_vila": "framesift.vila.stages",
    "InstructBlipViLA": "framesift.vila.host_model",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = list(_LAZY)
