"""Qwen2.5-VL and Qwen3-VL through transformers: loaded once per model, device and dtype.

Both generations go through the same code; a ``QwenFamily`` names what differs (the
transformers model and processor classes, the default checkpoint, the system turn the chat
template adds by default).

Frames are turned into pixel patches by the checkpoint's own image processor, on its PIL
backend (``Qwen2VLImageProcessorPil``: resize to multiples of 28, normalise, patchify into
``temporal_patch_size`` x 14 x 14 patches): ``AutoProcessor`` would also build the video
processor, whose fast path needs torchvision, which framesift does not depend on. The
processor used is transformers' ``Qwen2_5_VLProcessor`` itself (placeholder expansion, the
``mm_token_type_ids`` mRoPE needs), built without a video processor: ``images_only_processor``
only lets that attribute be None, which the processor's constructor check would refuse.
Qwen3-VL's checkpoints use the same image processor class (16-pixel patches instead of 14).

Default models: Qwen/Qwen2.5-VL-3B-Instruct fits one 24 GB GPU in bfloat16 (about 7.5 GB of
weights) with room for 32 keyframes of 256 tokens each; the 7B (about 16.6 GB) is
``qwen2.5-vl:Qwen/Qwen2.5-VL-7B-Instruct`` on a 40 GB+ card. Qwen/Qwen3-VL-4B-Instruct (about
8.9 GB) is Qwen3-VL's counterpart on the same 24 GB card; ``qwen3-vl:Qwen/Qwen3-VL-8B-Instruct``
needs about 17.5 GB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from framesift.hub import ModelCache, load_pretrained, resolve_device, resolve_dtype

# The chat format both generations' chat_template.json render for one user turn.
USER = "<|im_start|>user\n"
TURN_END = "<|im_end|>\n<|im_start|>assistant\n"
IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"


@dataclass(frozen=True)
class QwenFamily:
    """One Qwen-VL generation: its transformers classes (by name, imported at load), default
    checkpoint, and the system turn its chat template adds when the messages have none."""

    name: str
    default_model: str
    model_class: str
    processor_class: str
    system: str


QWEN25_VL = QwenFamily(
    "qwen2.5-vl",
    "Qwen/Qwen2.5-VL-3B-Instruct",
    "Qwen2_5_VLForConditionalGeneration",
    "Qwen2_5_VLProcessor",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n",
)
QWEN3_VL = QwenFamily(  # Qwen3's template has no default system turn
    "qwen3-vl",
    "Qwen/Qwen3-VL-4B-Instruct",
    "Qwen3VLForConditionalGeneration",
    "Qwen3VLProcessor",
    "",
)


@dataclass
class QwenVL:
    """The loaded model and its processor (tokenizer + PIL-backend image processor)."""

    model: Any
    processor: Any
    family: QwenFamily = QWEN25_VL

    @property
    def patch_factor(self) -> int:
        """Pixels per side of one visual token: image sides are resized to multiples of it."""
        image_processor = self.processor.image_processor
        return image_processor.patch_size * image_processor.merge_size

    @property
    def tokenizer(self) -> Any:
        return self.processor.tokenizer

    def ids(self, text: str) -> list[int]:
        """Token ids of ``text`` alone (no special tokens added)."""
        return self.tokenizer(text, add_special_tokens=False).input_ids

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
    model_id: str | None = None,
    *,
    family: QwenFamily = QWEN25_VL,
    models: ModelCache | None = None,
    device: str | None = "auto",
    dtype: str | torch.dtype | None = "auto",
) -> QwenVL:
    """``family``'s model by hub id or folder (default: the family's checkpoint), from ``models``
    when a part already loaded it; a missing model fails at once in one line
    (``hub.load_pretrained``)."""
    model_id = model_id or family.default_model
    device = resolve_device(device)
    dtype = dtype if isinstance(dtype, torch.dtype) else resolve_dtype(dtype, device)

    def build() -> QwenVL:
        import transformers
        from transformers import AutoTokenizer, Qwen2VLImageProcessorPil

        model_class = getattr(transformers, family.model_class)
        model = load_pretrained(model_class.from_pretrained, model_id, dtype=dtype)
        model.to(device).eval()
        processor = images_only_processor(
            load_pretrained(Qwen2VLImageProcessorPil.from_pretrained, model_id),
            load_pretrained(AutoTokenizer.from_pretrained, model_id),
            family=family,
        )
        return QwenVL(model, processor, family)

    if models is None:
        return build()
    return models.get((family.name, model_id, device, str(dtype)), build)


def images_only_processor(
    image_processor: Any,
    tokenizer: Any,
    chat_template: str | None = None,
    *,
    family: QwenFamily = QWEN25_VL,
) -> Any:
    """transformers' processor of ``family`` for images and text, without a video processor."""
    import transformers

    processor_class = getattr(transformers, family.processor_class)

    class ImagesOnlyProcessor(processor_class):
        def check_argument_for_proper_class(self, argument_name: str, argument: Any) -> Any:
            if argument_name == "video_processor" and argument is None:
                return None
            return super().check_argument_for_proper_class(argument_name, argument)

    return ImagesOnlyProcessor(image_processor, tokenizer, None, chat_template=chat_template)
