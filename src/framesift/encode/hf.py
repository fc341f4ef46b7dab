"""CLIP and SigLIP image-text encoders through transformers (``hf:<model id or folder>``).

Frames arrive already resized by the decoder as the model's processor config says (shorter
side + centre crop for CLIP, plain resize for SigLIP); normalisation happens here, in torch,
so no video processor (which needs torchvision) is involved.
"""

from __future__ import annotations

import numpy as np
import torch

from framesift.decode import Resize
from framesift.encode.base import EncoderInfo, FrameFeatures
from framesift.hub import weights_identity

DEFAULT_MODEL = "openai/clip-vit-base-patch32"  # the selector model ViLAMP uses

# Per-family score scale. CLIP ViT-B/32 cosines: matching pairs ~0.25-0.35 (ViLAMP's floor 0.2).
# SigLIP's sigmoid bias shifts its cosines down: matching pairs ~0.1.
_SELECTOR_DEFAULTS = {
    "clip": {"dks": {"relevance_floor": 0.2, "redundancy_ceiling": 0.85}},
    "siglip": {"dks": {"relevance_floor": 0.05, "redundancy_ceiling": 0.9}},
}


class HFEncoder:
    """A transformers dual encoder (``CLIPModel``, ``SiglipModel``) loaded by hub id or folder."""

    def __init__(self, model_id: str = DEFAULT_MODEL, batch_size: int = 32):
        from transformers import AutoModel, AutoTokenizer
        from transformers.image_processing_base import ImageProcessingMixin

        self.model = AutoModel.from_pretrained(model_id).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(model_id)
        self.batch_size = batch_size
        family = self.model.config.model_type.split("_")[0]
        if family not in _SELECTOR_DEFAULTS:
            raise ValueError(
                f"{model_id} is a {self.model.config.model_type!r} model; hf: encoders must be "
                f"one of {sorted(_SELECTOR_DEFAULTS)} (a dual image-text encoder)"
            )
        self.family = family
        processor, _ = ImageProcessingMixin.get_image_processor_dict(model_id)
        self.mean = torch.tensor(processor.get("image_mean", [0.5] * 3)).view(1, 3, 1, 1)
        self.std = torch.tensor(processor.get("image_std", [0.5] * 3)).view(1, 3, 1, 1)
        self.info = EncoderInfo(
            name=f"hf:{model_id}@{weights_identity(model_id, self.model)}",
            resize=_resize_from_processor(processor),
            embed_dim=int(self.model.config.projection_dim)
            if family == "clip"
            else int(self.model.config.text_config.hidden_size),
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
        return _unit(_pooled(self.model.get_text_features(**tokens)))

    @torch.inference_mode()
    def encode_frames(self, pixels: np.ndarray, with_patches: bool = False) -> FrameFeatures:
        embeddings, patches = [], []
        for i in range(0, len(pixels), self.batch_size):
            x = torch.from_numpy(pixels[i : i + self.batch_size]).permute(0, 3, 1, 2).float()
            x = (x / 255.0 - self.mean) / self.std  # (B, 3, H, W)
            vision = self.model.vision_model(pixel_values=x)
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
    return torch.nn.functional.normalize(x.float(), dim=-1).numpy()


def _resize_from_processor(cfg: dict) -> Resize:
    if cfg.get("do_center_crop") and cfg.get("crop_size"):
        crop = cfg["crop_size"]
        return Resize(int(crop["width"]), int(crop["height"]), crop=True)
    size = cfg.get("size", {"height": 224, "width": 224})
    if "shortest_edge" in size:
        edge = int(size["shortest_edge"])
        return Resize(edge, edge, crop=True)
    return Resize(int(size["width"]), int(size["height"]))
