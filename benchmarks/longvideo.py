"""ViLAMP long-video path: memory and time of selection + merging, DKS against N x N, and the
answerer's prefill cost at real LLaVA-OneVision-0.5B size.

    python benchmarks/longvideo.py prepare     # once: videos + cached features (slow, ~30 min)
    python benchmarks/longvideo.py measure     # the tables (fresh process per measurement)

1. Peak RSS and time of DKS selection + DFM merging (bundled encoder, K = 32) over locally
   generated videos of 1,000, 3,600 and 10,000 candidate frames (real vtest.avi footage,
   looped, at 1 fps so every frame is a candidate), with 1 and 2 torch threads. Features and
   patch tokens come from the cache, as on every question after the first.
2. DKS on 10,000 frames, K = 32: framesift's O(N K) selection against the reference code's
   brute-force N x N similarity matrix, time and peak RSS.
3. LLaVA-OneVision-0.5B architecture with RANDOM weights (no weights are reachable offline;
   timing only): prefill time and peak RSS on CPU for (a) 32 uniform frames at full tokens,
   (b) DKS 32 keyframes + DFM over 1,000 and 10,000 frames, (c) the largest uniform sample
   with the same token count as (b); plus the SigLIP tower's cost per frame.
Writes benchmarks/results/longvideo.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np
from model_configs import QWEN2_05B, SIGLIP_TOWER_LLAVA

HERE = Path(__file__).resolve().parent
MEDIA = HERE / ".media"
CACHE = MEDIA / "cache"
VTEST = HERE.parent / "tests" / "assets" / "vtest.avi"
LENGTHS = (1_000, 3_600, 10_000)
K = 32


def video_path(n: int) -> Path:
    return MEDIA / f"vtest_1fps_{n}.mp4"


def prepare() -> None:
    import av

    from framesift import Pipeline
    from framesift.synth import write_video

    MEDIA.mkdir(exist_ok=True)
    with av.open(str(VTEST)) as container:
        loop = [
            f.to_ndarray(width=320, height=240, format="rgb24") for f in container.decode(video=0)
        ]
    pipe = Pipeline(cache_dir=str(CACHE), budget=K, merge="dfm", progress=True)
    for n in LENGTHS:
        path = video_path(n)
        if not path.exists():
            write_video(path, (loop[(7 * i) % len(loop)] for i in range(n)), fps=1)
        t0 = time.perf_counter()
        pipe.ask(path, "Is there a dog?", ["a dog", "a cat"])  # fills both caches
        print(f"{path.name}: features and patch tokens cached in {time.perf_counter() - t0:.0f}s")


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("needs Linux /proc")


def reset_peak() -> None:
    """Start VmHWM afresh (Linux: writing 5 to clear_refs), to measure one step's peak."""
    Path("/proc/self/clear_refs").write_text("5")


def _in_child(target, args, threads: int) -> dict:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_run_child, args=(target, args, threads, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def _run_child(target, args, threads, queue) -> None:
    import torch

    torch.set_num_threads(threads)
    queue.put(target(*args))


def select_and_merge(n: int) -> dict:
    from framesift import Pipeline

    pipe = Pipeline(cache_dir=str(CACHE), budget=K, merge="dfm")
    pipe.ask(video_path(n), "Is there a dog?", ["a dog", "a cat"])  # load weights, warm
    reset_peak()
    base = peak_rss_mib()
    result = pipe.ask(video_path(n), "Is anyone carrying a bag?", ["a bag", "an umbrella"])
    assert result.cached
    t = result.timings
    return {
        "select": t["select"],
        "compress": t["compress"],
        "tokens": result.tokens["after"],
        "rss": peak_rss_mib(),
        "rss_after_load": base,
    }


def dks_run(n: int, brute: bool) -> dict:
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.standard_normal((n, 384)).astype(np.float32) * 0.3, axis=0)
    emb = walk / np.linalg.norm(walk, axis=1, keepdims=True)
    relevance = emb @ emb[rng.integers(n)]
    reset_peak()
    base = peak_rss_mib()
    t0 = time.perf_counter()
    if brute:
        chosen = _dks_reference(relevance, emb, K, 0.2, 0.85)
    else:
        from framesift.select import SELECTORS

        chosen = SELECTORS.build("dks").select(relevance, emb, K)
    return {
        "seconds": time.perf_counter() - t0,
        "rss": peak_rss_mib() - base,
        "chosen": np.asarray(chosen).tolist(),
    }


def _dks_reference(relevance, emb, k, floor, ceiling):
    """ViLAMP reference style: the full N x N similarity matrix first (no gap filling)."""
    sim = emb @ emb.T  # (N, N): 400 MB at N = 10,000
    redundant = np.zeros(len(emb), bool)
    chosen = []
    for i in np.argsort(-relevance, kind="stable"):
        if len(chosen) == k or relevance[i] < floor:
            break
        if not redundant[i]:
            chosen.append(int(i))
            redundant |= sim[i] > ceiling
    return sorted(chosen)


LLAVA_05B = {  # llava-hf/llava-onevision-qwen2-0.5b-ov-hf
    "text": QWEN2_05B,
    "vision": SIGLIP_TOWER_LLAVA,
}


def _llava_05b():
    import torch
    from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration

    config = LlavaOnevisionConfig(
        text_config={"model_type": "qwen2", **LLAVA_05B["text"]},
        vision_config={"model_type": "siglip_vision_model", **LLAVA_05B["vision"]},
        vision_feature_layer=-1,
        vision_aspect_ratio="anyres_max_9",
    )
    torch.manual_seed(0)
    return LlavaOnevisionForConditionalGeneration(config).eval()


def prefill(n_tokens: int) -> dict:
    import torch

    model = _llava_05b()
    embeds = torch.randn(1, n_tokens, 896) * 0.02
    reset_peak()  # the random initialisation's peak is not the prefill's
    base = peak_rss_mib()
    with torch.inference_mode():
        t0 = time.perf_counter()
        model.model.language_model(inputs_embeds=embeds, use_cache=True)
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rss": peak_rss_mib(), "rss_model": base}


def vision_per_frame() -> dict:
    import torch

    model = _llava_05b()
    frames = torch.randn(4, 1, 3, 384, 384)
    with torch.inference_mode():
        model.get_video_features(pixel_values_videos=frames[:1])  # warm
        t0 = time.perf_counter()
        out = model.get_video_features(pixel_values_videos=frames)  # 4 one-frame videos
        seconds = (time.perf_counter() - t0) / 4
    return {"seconds": seconds, "tokens": out.pooler_output.shape[1] - 1}  # minus image_newline


def measure(threads: tuple[int, ...], skip_llava: bool) -> None:
    lines = [
        "# framesift long-video benchmark",
        "",
        f"x86_64, {multiprocessing.cpu_count()} cores; each row runs in a fresh process; "
        "peak RSS is the process's VmHWM.",
        "",
    ]
    lines += [
        "## 1. DKS selection + DFM merging from the cache (bundled encoder, K = 32)",
        "",
        "Peak growth: the second question's peak RSS above the process's resident size once "
        "the encoder is loaded and a first question has run (weights, caches, allocator "
        "pools); the process's own peak, which mostly reflects the allocator, for reference.",
        "",
        "| frames | threads | select (s) | merge (s) | tokens after | peak growth (MiB) "
        "| process peak (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for th in threads:
        for n in LENGTHS:
            r = _in_child(select_and_merge, (n,), th)
            growth = r["rss"] - r["rss_after_load"]
            lines.append(
                f"| {n:,} | {th} | {r['select']:.3f} | {r['compress']:.2f} | "
                f"{r['tokens']:,} | {growth:.0f} | {r['rss']:.0f} |"
            )
            print(lines[-1], flush=True)
    lines += [
        "",
        "## 2. DKS on 10,000 frames, K = 32, D = 384",
        "",
        "| implementation | seconds | extra peak RSS (MiB) | ratio |",
        "|---|---|---|---|",
    ]
    ours = _in_child(dks_run, (10_000, False), 2)
    brute = _in_child(dks_run, (10_000, True), 2)
    for name, r in (("framesift O(N K)", ours), ("reference N x N", brute)):
        lines.append(
            f"| {name} | {r['seconds']:.3f} | {r['rss']:.0f} | "
            f"{r['seconds'] / ours['seconds']:.1f}x time |"
        )
        print(lines[-1], flush=True)
    if not skip_llava:
        lines += [
            "",
            "## 3. LLaVA-OneVision-0.5B (random weights, timing only), CPU prefill, 2 threads",
            "",
        ]
        vision = _in_child(vision_per_frame, (), 2)
        per = vision["tokens"]
        prompt = 60  # system + question + options + time line, typical
        rows = [("(a) 32 uniform frames, full tokens", 32 * per + 1 + prompt)]
        for n in (1_000, 10_000):
            count = K * per + (n - K) + 1 + prompt
            rows.append((f"(b) DKS 32 + DFM over {n:,} frames", count))
            rows.append((f"(c) uniform {(count - 1 - prompt) // per} frames, same tokens", count))
        lines += [
            f"SigLIP tower + projector + pooling: {vision['seconds']:.2f} s per frame "
            f"({per} tokens per frame after 2x2 pooling).",
            "",
            "| input | tokens | prefill (s) | peak RSS (GiB) | vs (a) |",
            "|---|---|---|---|---|",
        ]
        base = None
        for label, count in rows:
            r = _in_child(prefill, (count,), 2)
            base = base or r["seconds"]
            lines.append(
                f"| {label} | {count:,} | {r['seconds']:.1f} | {r['rss'] / 1024:.1f} | "
                f"{r['seconds'] / base:.2f}x |"
            )
            print(lines[-1], flush=True)
    out = HERE / "results" / "longvideo.md"
    if skip_llava and out.exists() and "## 3." in out.read_text():  # keep the slow section
        lines += ["", out.read_text()[out.read_text().index("## 3.") :].rstrip()]
    text = "\n".join(lines) + "\n"
    out.write_text(text)
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("phase", choices=["prepare", "measure"])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--skip-llava", action="store_true")
    args = parser.parse_args()
    prepare() if args.phase == "prepare" else measure(tuple(args.threads), args.skip_llava)


if __name__ == "__main__":
    sys.exit(main())
