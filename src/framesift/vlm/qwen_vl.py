"""Qwen2.5-VL through transformers: loaded once per model, device and dtype.

Frames are turned into pixel patches by the checkpoint's own image processor, on its PIL
backend (``Qwen2VLImageProcessorPil``: resize to multiples of 28, normalise, patchify into
``temporal_patch_size`` x 14 x 14 patches): ``AutoProcessor`` would also build the video
processor, whose fast path needs torchvision, which framesift does not depend on. The
processor used is transformers' ``Qwen2_5_VLProcessor`` itself (placeholder expansion, the
``mm_token_type_ids`` mRoPE needs), built without a video processor: ``images_only_processor``
only lets that attribute be None, which the processor's constructor check would refuse.

Default model: Qwen/Qwen2.5-VL-3B-Instruct. It fits one 24 GB GPU in bfloat16 (about 7.5 GB of
weights) with room for 32 keyframes of 256 tokens each; the 7B (about 16.6 GB) is
``qwen2.5-vl:Qwen/Qwen2.5-VL-7B-Instruct`` on a 40 GB+ card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from framesift.hub import ModelCache, load_pretrained, resolve_device, resolve_dtype

DEFAULT_MODEL = "Qwen/Qwen2.5-VL-3B-Instruct"

# Qwen2.5-VL's chat format (its chat_template.json renders these turns).
SYSTEM = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
USER = "<|im_start|>user\n"
TURN_END = "<|im_end|>\n<|im_start|>assistant\n"
IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"


@dataclass
class QwenVL:
    """The loaded model and its processor (tokenizer + PIL-backend image processor)."""

    model: Any
    processor: Any

    @property
    def tokenizer(self) -> Any:
        return self.processor.tokenizer

    def inputs(self, prompt: str, frames: list[Any]) -> dict[str, torch.Tensor]:
        """Model inputs for ``prompt`` (one ``IMAGE`` per frame) and the (H, W, 3) uint8
        ``frames``: input ids with each image's placeholder expanded, pixel patches, grids."""
        batch = self.processor(
            text=[prompt],
            images=frames or None,
            return_tensors="pt",
            return_token_type_ids=False,
            truncation=False,
        )  # Qwen's tokenizer gives no token types; WordPiece would, and generate refuses them
        return {k: v.to(self.model.device) for k, v in batch.items()}


def load_qwen_vl(
    model_id: str = DEFAULT_MODEL,
    *,
    models: ModelCache | None = None,
    device: str | None = "auto",
    dtype: str | torch.dtype | None = "auto",
) -> QwenVL:
    """The model by hub id or folder, from ``models`` when a part already loaded it; a missing
    model fails at once in one line (``hub.load_pretrained``)."""
    device = resolve_device(device)
    dtype = dtype if isinstance(dtype, torch.dtype) else resolve_dtype(dtype, device)

    def build() -> QwenVL:
        from transformers import (
            AutoTokenizer,
            Qwen2_5_VLForConditionalGeneration,
            Qwen2VLImageProcessorPil,
        )

        model = load_pretrained(
            Qwen2_5_VLForConditionalGeneration.from_pretrained, model_id, dtype=dtype
        )
        model.to(device).eval()
        processor = images_only_processor(
            load_pretrained(Qwen2VLImageProcessorPil.from_pretrained, model_id),
            load_pretrained(AutoTokenizer.from_pretrained, model_id),
        )
        return QwenVL(model, processor)

    if models is None:
        return build()
    return models.get(("qwen2.5-vl", model_id, device, str(dtype)), build)


def images_only_processor(image_processor: Any, tokenizer: Any, chat_template: str | None = None):
    """transformers' ``Qwen2_5_VLProcessor`` for images and text, without a video processor."""
    from transformers import Qwen2_5_VLProcessor

    class ImagesOnlyProcessor(Qwen2_5_VLProcessor):
        def check_argument_for_proper_class(self, argument_name: str, argument: Any) -> Any:
            if argument_name == "video_processor" and argument is None:
                return None
            return super().check_argument_for_proper_class(argument_name, argument)

    return ImagesOnlyProcessor(image_processor, tokenizer, None, chat_template=chat_template)
