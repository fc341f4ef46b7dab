"""LLaVA-OneVision through transformers: loaded once, shared by the parts that use it.

The visual tokens are made exactly as transformers' LLaVA-OneVision video path makes them
(``LlavaOnevisionModel.get_video_features``: vision tower hidden state at
``vision_feature_layer``, feature select strategy, ``multi_modal_projector``, 2x2 bilinear
``apply_pooling``), one frame at a time, so the patch cache holds what the language model
reads. Frames are sized and normalised from the processor config (``encode.processor``): the
video processor class itself needs torchvision, which framesift does not depend on.

The answerer (``answer.llava_ov``) and SeViLA's localizer (``select.localizer``) read the same
model; ``load_llava_ov`` keeps one copy per model, device and dtype in the pipeline's
``ModelCache``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from framesift.encode.processor import video_frame_normalisation
from framesift.errors import InputError
from framesift.hub import (
    ModelCache,
    load_pretrained,
    resolve_device,
    resolve_dtype,
    weights_identity,
)

DEFAULT_MODEL = "llava-hf/llava-onevision-qwen2-0.5b-ov-hf"

# LLaVA-OneVision's training template (LLaVA-NeXT ``conv_templates["qwen_1_5"]``, ChatML with a
# system turn); llava-hf's chat_template.json renders the same turns without the system one.
CHAT_PREFIX = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
CHAT_END = "<|im_end|>\n<|im_start|>assistant\n"


@dataclass
class LlavaOneVision:
    """The loaded model, its tokenizer and its frame tokens (``patches``)."""

    model: Any
    tokenizer: Any
    patches: LlavaOneVisionPatches

    def ids(self, text: str) -> torch.Tensor:
        """(L,) token ids of ``text``, no special tokens added."""
        return self.tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids[0]

    def embed(self, text: str) -> torch.Tensor:
        """(L, D) input embeddings of ``text`` on the model's device."""
        return self.model.get_input_embeddings()(self.ids(text).to(self.model.device))


def load_llava_ov(
    model_id: str = DEFAULT_MODEL,
    *,
    models: ModelCache | None = None,
    device: str | None = "auto",
    dtype: str | torch.dtype | None = "auto",
    batch_size: int = 16,
) -> LlavaOneVision:
    """The model by hub id or folder, from ``models`` when a part already loaded it."""
    device = resolve_device(device)
    dtype = dtype if isinstance(dtype, torch.dtype) else resolve_dtype(dtype, device)

    def build() -> LlavaOneVision:
        from transformers import AutoTokenizer, LlavaOnevisionForConditionalGeneration

        model = load_pretrained(
            LlavaOnevisionForConditionalGeneration.from_pretrained, model_id, dtype=dtype
        )
        model.to(device).eval()
        tokenizer = load_pretrained(AutoTokenizer.from_pretrained, model_id)
        return LlavaOneVision(
            model, tokenizer, LlavaOneVisionPatches(model, tokenizer, model_id, batch_size)
        )

    if models is None:
        return build()
    return models.get(("llava-ov", model_id, device, str(dtype), batch_size), build)


class LlavaOneVisionPatches:
    """The ``PatchEncoder`` side of ``LlavaOneVisionAnswerer``: projected, pooled frame tokens."""

    def __init__(self, model, tokenizer, model_id: str, batch_size: int = 16):
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size
        vision = model.config.vision_config
        self.frames = video_frame_normalisation(model_id, vision.image_size)
        self.resize = self.frames.resize
        grid = vision.image_size // vision.patch_size
        self.tokens_per_frame = math.ceil(grid / 2) ** 2  # 196 for SigLIP 384/14
        dtype = str(model.dtype).removeprefix("torch.")
        self.name = f"llava-ov:{model_id}@{weights_identity(model_id, model)}:{dtype}"

    @torch.inference_mode()
    def encode_patches(self, pixels: np.ndarray) -> np.ndarray:
        """(B, H, W, 3) uint8 -> (B, P, D) float32: LLaVA-OneVision's video tokens per frame."""
        out = []
        for x in self.frames.batches(pixels, self.batch_size, self.model.device):
            x = x.to(self.model.dtype)  # (b, 3, H, W)
            # Each frame as a one-frame video: (b, 1, 3, H, W) -> pooler_output (b, P + 1, D),
            # P pooled tokens then the image_newline the video path appends; drop the latter.
            features = self.model.get_video_features(pixel_values_videos=x.unsqueeze(1))
            out.append(features.pooler_output[:, :-1].float().cpu())  # (b, P, D)
        return torch.cat(out).numpy()

    @torch.inference_mode()
    def embed_query(self, text: str) -> np.ndarray:
        """(D,) float32: the mean input embedding of the text's tokens.

        DFM compares the query with visual tokens, and the projector maps frames into the
        language model's input-embedding space; the word embeddings of the question are the
        training-free query in that same space (no second encoder, nothing to align). The mean
        is a bag of words: crude, but it is what a query vector without training can be.
        """
        ids = self.tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids[0]
        if len(ids) == 0:
            raise InputError(f"query {text!r} has no tokens; pass a non-empty question")
        embeddings = self.model.get_input_embeddings()(ids.to(self.model.device))  # (L, D)
        return embeddings.float().mean(0).cpu().numpy()
