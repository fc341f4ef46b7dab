"""CLIP and SigLIP image-text encoders through transformers (``hf:<model id or folder>``).

Frames arrive already resized by the decoder as the model's processor config says (shorter
side + centre crop for CLIP, plain resize for SigLIP); normalisation happens here, in torch,
so no video processor (which needs torchvision) is involved.

The model runs on ``device`` in ``dtype`` (``auto``: float16 on a GPU, float32 on the CPU);
embeddings come back as float32 numpy either way. Half precision moves a tower's embeddings
by numerical noise only (``benchmarks/gpu.py`` reports the cosine to float32 at real sizes),
far below the margins selection thresholds work at, so the dtype, like the device, is not part
of ``info.name``: features cached on a GPU in float16 serve a CPU re-ask in float32.
"""

from __future__ import annotations

import numpy as np
import torch

from framesift.decode import Resize
from framesift.encode.base import EncoderInfo, FrameFeatures
from framesift.encode.processor import FrameNormalisation
from framesift.errors import InputError
from framesift.hub import load_pretrained, resolve_device, resolve_dtype, weights_identity

DEFAULT_MODEL = "openai/clip-vit-base-patch32"  # the selector model ViLAMP uses

# Per-family score scale. CLIP ViT-B/32 cosines: matching pairs ~0.25-0.35 (ViLAMP's floor 0.2).
# SigLIP's sigmoid bias shifts its cosines down: matching pairs ~0.1.
_SELECTOR_DEFAULTS = {
    "clip": {"dks": {"relevance_floor": 0.2, "redundancy_ceiling": 0.85}},
    "siglip": {"dks": {"relevance_floor": 0.05, "redundancy_ceiling": 0.9}},
}


class HFEncoder:
    """A transformers dual encoder (``CLIPModel``, ``SiglipModel``) loaded by hub id or folder."""

    spec_argument = "model_id"

    def __init__(
        self,
        model_id: str = DEFAULT_MODEL,
        batch_size: int = 32,
        device: str = "auto",
        dtype: str = "auto",
    ):
        from transformers import AutoConfig, AutoModel, AutoTokenizer
        from transformers.image_processing_base import ImageProcessingMixin

        config = load_pretrained(AutoConfig.from_pretrained, model_id)
        family = config.model_type.split("_")[0]
        if family not in _SELECTOR_DEFAULTS:
            raise InputError(
                f"{model_id} is a {config.model_type!r} model; hf: encoders must be one of "
                f"{sorted(_SELECTOR_DEFAULTS)} (a dual image-text encoder)"
            )
        self.family = family
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.model = load_pretrained(
            AutoModel.from_pretrained, model_id, config=config, dtype=self.dtype
        )
        self.model.to(self.device).eval()
        self.tokenizer = load_pretrained(AutoTokenizer.from_pretrained, model_id)
        self.batch_size = batch_size
        processor, _ = load_pretrained(ImageProcessingMixin.get_image_processor_dict, model_id)
        self.normalisation = FrameNormalisation(
            resize=_resize_from_processor(processor),
            mean=tuple(processor.get("image_mean", [0.5] * 3)),
            std=tuple(processor.get("image_std", [0.5] * 3)),
            rescale=1 / 255,
        )
        self.info = EncoderInfo(
            name=f"hf:{model_id}@{weights_identity(model_id, self.model)}",
            resize=self.normalisation.resize,
            embed_dim=int(config.projection_dim)
            if family == "clip"
            else int(config.text_config.hidden_size),
            selector_defaults=_SELECTOR_DEFAULTS[family],
        )

    @torch.inference_mode()
    def encode_text(self, texts: list[str]) -> np.ndarray:
        # SigLIP was trained on max_length-padded text; CLIP pools at the EOS token either way.
        padding = "max_length" if self.family == "siglip" else True
        tokens = self.tokenizer(
            texts,
            padding=padding,
            truncation=True,
            max_length=self.model.config.text_config.max_position_embeddings,
            return_tensors="pt",
        )
        tokens.pop("token_type_ids", None)
        return _unit(_pooled(self.model.get_text_features(**tokens.to(self.device))))

    @torch.inference_mode()
    def encode_frames(self, pixels: np.ndarray, with_patches: bool = False) -> FrameFeatures:
        embeddings, patches = [], []
        for x in self.normalisation.batches(pixels, self.batch_size, self.device):
            vision = self.model.vision_model(pixel_values=x.to(self.dtype))
            if self.family == "clip":
                pooled = self.model.visual_projection(vision.pooler_output)  # (B, D)
            else:
                pooled = vision.pooler_output  # SigLIP's attention-pool head output
            embeddings.append(_unit(pooled))
            if with_patches:
                tokens = self.model.vision_model.post_layernorm(vision.last_hidden_state)
                if self.family == "clip":  # drop CLS, project into the joint space
                    tokens = self.model.visual_projection(tokens[:, 1:])
                patches.append(_unit(tokens))  # (B, P, D)
        return FrameFeatures(
            embeddings=np.concatenate(embeddings),
            patches=np.concatenate(patches) if with_patches else None,
        )


def _pooled(output) -> torch.Tensor:
    """transformers 5 returns a model output from ``get_*_features``; 4.x a tensor."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


def _unit(x: torch.Tensor) -> np.ndarray:
    """Unit norm in float32 (a half-precision norm would round), back on the CPU."""
    return torch.nn.functional.normalize(x.float(), dim=-1).cpu().numpy()


def _resize_from_processor(cfg: dict) -> Resize:
    if cfg.get("do_center_crop") and cfg.get("crop_size"):
        crop = cfg["crop_size"]
        return Resize(int(crop["width"]), int(crop["height"]), crop=True)
    size = cfg.get("size", {"height": 224, "width": 224})
    if "shortest_edge" in size:
        edge = int(size["shortest_edge"])
        return Resize(edge, edge, crop=True)
    return Resize(int(size["width"]), int(size["height"]))
