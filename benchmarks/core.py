"""Core benchmark: decoding strategies, selector cost, and cached re-asks.

    python benchmarks/core.py [--minutes 60] [--threads 2]

Generates (once, under benchmarks/.media/, git-ignored) an H.264 854x480 25 fps video of the
real vtest.avi footage looped to the requested length, then measures, each in the same run:
1. building the 1 fps candidate pool (and a sparse 32-frame pool) by each decoding strategy:
   wall time and peak RSS of a fresh process doing only that;
2. uniform / top-k / DKS / BOLT / AKS selection time at N = 1,000 and 10,000, K = 32;
3. a first ask (decode + encode + select) against a re-ask served by the feature cache.
Prints a markdown table and writes it to benchmarks/results/core.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
VTEST = HERE.parent / "tests" / "assets" / "vtest.avi"
WIDTH, HEIGHT, FPS = 854, 480, 25


def make_long_video(minutes: float) -> Path:
    import av

    from framesift.synth import write_video

    path = HERE / ".media" / f"vtest_loop_{minutes:g}min_480p.mp4"
    if path.exists():
        return path
    path.parent.mkdir(exist_ok=True)
    with av.open(str(VTEST)) as container:
        loop = [
            f.to_ndarray(width=WIDTH, height=HEIGHT, format="rgb24")
            for f in container.decode(video=0)
        ]
    total = int(minutes * 60 * FPS)
    print(f"generating {path.name}: {total} frames (once)...", flush=True)
    tmp = path.with_suffix(".tmp.mp4")
    write_video(tmp, (loop[i % len(loop)] for i in range(total)), FPS, preset="ultrafast")
    tmp.rename(path)
    return path


def _decode_in_child(
    video: str, strategy: str, fps: float | None, count: int | None, queue
) -> None:
    from framesift.decode import Resize, Sampling, decode_frames

    t0 = time.perf_counter()
    frames = 0
    for batch in decode_frames(
        video, Sampling(fps=fps, count=count), Resize(224, 224), strategy=strategy
    ):
        frames += len(batch.times)
    seconds = time.perf_counter() - t0
    queue.put((frames, seconds, _peak_rss_mib()))


def _peak_rss_mib() -> float:
    """VmHWM: this process's peak resident memory (unlike ru_maxrss, not inherited over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_decoding(video: Path) -> list[str]:
    ctx = multiprocessing.get_context("spawn")
    rows = [
        "| pool | strategy | frames | seconds | vs sequential | peak RSS (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for label, fps, count in (("1 fps", 1.0, None), ("32 frames", None, 32)):
        base = None
        for strategy in ("sequential", "seek", "auto"):
            queue = ctx.Queue()
            proc = ctx.Process(
                target=_decode_in_child, args=(str(video), strategy, fps, count, queue)
            )
            proc.start()
            frames, seconds, rss = queue.get()
            proc.join()
            base = base or seconds
            rows.append(
                f"| {label} | {strategy} | {frames} | {seconds:.1f} | "
                f"{seconds / base:.2f}x | {rss:.0f} |"
            )
            print(rows[-1], flush=True)
    return rows


def bench_selectors(dim: int = 384, budget: int = 32) -> list[str]:
    from framesift.select import SELECTORS

    rows = ["| selector | N = 1,000 (ms) | N = 10,000 (ms) | ratio 10k/1k |", "|---|---|---|---|"]
    rng = np.random.default_rng(0)
    inputs = {}
    for n in (1_000, 10_000):
        walk = np.cumsum(rng.standard_normal((n, dim)).astype(np.float32) * 0.3, axis=0)
        walk += rng.standard_normal((1, dim)).astype(np.float32) * 5  # shots share a direction
        emb = walk / np.linalg.norm(walk, axis=1, keepdims=True)  # temporally coherent frames
        query = emb[rng.integers(n)]
        inputs[n] = (emb @ query, emb)
    # DKS with floor -1 visits frames until K are chosen: its worst case, K redundancy sweeps.
    params = {"dks": {"relevance_floor": -1.0, "redundancy_ceiling": 0.9}}
    for name in ("uniform", "topk", "dks", "bolt", "aks"):
        selector = SELECTORS.build(name, params.get(name))
        ms = []
        for n in (1_000, 10_000):
            relevance, emb = inputs[n]
            reps = []
            for _ in range(7):
                t0 = time.perf_counter()
                selector.select(relevance, emb, budget)
                reps.append(time.perf_counter() - t0)
            ms.append(1000 * float(np.median(reps)))
        rows.append(f"| {name} | {ms[0]:.2f} | {ms[1]:.2f} | {ms[1] / ms[0]:.1f}x |")
        print(rows[-1], flush=True)
    return rows


def bench_cached_reask(video: Path, window: float) -> list[str]:
    from framesift import Pipeline
    from framesift.cache import store

    with tempfile.TemporaryDirectory() as cache:
        pipe = Pipeline(cache_dir=cache, budget=32)
        pipe.encoder  # load weights outside the timings  # noqa: B018
        first = pipe.ask(video, "Is there a dog?", end=window)
        again = pipe.ask(video, "Is anyone riding a bicycle?", end=window)
        store._verified.clear()  # as a new process would: check the entry's digest again
        rehashed = pipe.ask(video, "Where is the red car?", end=window)
    assert again.cached and rehashed.cached and not first.cached
    rows = [
        "| ask | frames | decode (s) | encode (s) | select (s) | total (s) | speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    runs = (
        ("first (cold cache)", first),
        ("re-ask (cached)", again),
        ("re-ask, file re-hashed as in a new process", rehashed),
    )
    for label, r in runs:
        speed = f"{first.timings['total'] / r.timings['total']:.0f}x"
        t = r.timings
        rows.append(
            f"| {label} | {r.frames_considered} | {t['decode']:.2f} | {t['encode']:.2f} | "
            f"{t['select']:.3f} | {t['total']:.2f} | {speed} |"
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=60, help="length of the generated video")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument(
        "--ask-window", type=float, default=600, help="seconds asked about in part 3"
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    video = make_long_video(args.minutes)
    header = [
        "# framesift core benchmark",
        "",
        f"{platform.processor() or platform.machine()}, {multiprocessing.cpu_count()} cores, "
        f"torch threads {args.threads}; video: {video.name} "
        f"({args.minutes:g} min, {WIDTH}x{HEIGHT}, "
        f"{FPS} fps H.264, looped real footage); encoder: bundled.",
        "",
    ]
    sections = [
        ("## 1. Building the candidate pool (frames resized to 224x224)", bench_decoding(video)),
        ("## 2. Selection time, K = 32, D = 384 (median of 7)", bench_selectors()),
        (
            f"## 3. First ask vs cached re-ask (first {args.ask_window:g} s at 1 fps, K = 32)",
            bench_cached_reask(video, args.ask_window),
        ),
    ]
    text = (
        "\n".join(header + [line for title, rows in sections for line in ("", title, "", *rows)])
        + "\n"
    )
    out = HERE / "results" / "core.md"
    out.write_text(text)
    print("\n" + text + f"\nwritten to {out}")


if __name__ == "__main__":
    main()
