"""The change detector (``--reuse-threshold``) on real footage: what it saves, what it keeps.

    python benchmarks/changes.py [--thresholds 2 4 8 12 24] [--threads 2] [--repeats 7]

Footage: tests/assets/vtest.avi (pedestrians: motion somewhere in every frame) and tree.avi (a
window on a tree: long near-still stretches) at 1 fps, bundled encoder. Each in the same run:

1. per threshold, the frames that reuse the last encoded frame's embedding (the encoder calls
   saved), the encoding time against encoding every frame (best of ``--repeats``, thresholds
   taking turns, the detector's own cost included), and the cosine of each reused embedding to
   the frame's own exact one;
2. whether a needle photo could ever be reused: each photo as the haystack shows it, after
   every footage frame, through the same detector;
3. V-NIAH with DKS at K = 8 (benchmarks/niah_real.py's six photos and questions, lengths 600,
   1,800 and 3,600, depths 0 to 1) on haystacks of that footage encoded with the detector and
   without: retrieval, accuracy, and the questions whose keyframes or answer changed.

Prints markdown tables and writes them to benchmarks/results/changes.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ASSETS = HERE.parent / "tests" / "assets"
FOOTAGE = ("vtest.avi", "tree.avi")
LENGTHS = (600, 1800, 3600)
DEPTHS = (0.0, 0.25, 0.5, 0.75, 1.0)
BUDGET = 8
NIAH_METHOD = (
    "Six photos, each inserted for 1 s at 5 depths into the footage looped to 600, 1,800 and "
    "3,600 frames (90 questions per row), answered by the bundled similarity answerer. A "
    "haystack is composed from the footage's cache entry for that threshold with the needle's "
    "own embedding inserted; a rendered haystack would differ only where its frame order "
    "differs from the footage's (the first footage frame after the needle and after each loop "
    "seam would be compared with another frame). Keyframes changed: questions whose 8 "
    "keyframes differ from those chosen with the detector off."
)


def row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def timed_extractions(
    video: Path, encoder: Any, thresholds: list[float | None], repeats: int
) -> dict[float | None, tuple[Any, float]]:
    """Per threshold (None: off), the 1 fps extraction (no cache) and its fastest encoding
    time of ``repeats``, the thresholds taking turns so that other jobs slow them alike."""
    from framesift.cache import extract
    from framesift.decode import Sampling

    results: dict[float | None, tuple[Any, float]] = {}
    for _ in range(repeats):
        for threshold in thresholds:
            got = extract(video, Sampling(fps=1), encoder, None, reuse_threshold=threshold)
            first, fastest = results.get(threshold, (got, np.inf))
            results[threshold] = first, min(fastest, got.encode_s)
    return results


def bench_reuse(encoder: Any, thresholds: list[float], repeats: int) -> list[str]:
    """Section 1: frames reused, encoding time, cosine of reused to exact embeddings."""
    rows = [
        row("footage (1 fps)", "threshold", "frames", "reused (encoder skipped)",
            f"encode s (best of {repeats})", "vs every frame", "cosine of reused to exact: mean",
            "min"),
        row(*["---"] * 8),
    ]  # fmt: skip
    for name in FOOTAGE:
        timed = timed_extractions(ASSETS / name, encoder, [None, *thresholds], repeats)
        exact, exact_s = timed[None]
        n = len(exact.features.times)
        rows.append(row(name, "off", n, "0", f"{exact_s:.2f}", "1.00x", "-", "-"))
        print(rows[-1], flush=True)
        for threshold in thresholds:
            reusing, seconds = timed[threshold]
            got = reusing.features.embeddings  # (N, D)
            assert np.array_equal(reusing.features.times, exact.features.times)
            repeated = np.flatnonzero((got[1:] == got[:-1]).all(axis=1)) + 1  # reused rows
            assert len(repeated) == reusing.reused, (len(repeated), reusing.reused)
            cos = (got * exact.features.embeddings).sum(axis=1)[repeated]
            rows.append(
                row(name, f"{threshold:g}", n, f"{len(repeated)} ({len(repeated) / n:.0%})",
                    f"{seconds:.2f}", f"{seconds / exact_s:.2f}x",
                    f"{cos.mean():.3f}" if len(cos) else "-",
                    f"{cos.min():.3f}" if len(cos) else "-")
            )  # fmt: skip
            print(rows[-1], flush=True)
    return rows


def bench_needles(needles: Path, thresholds: list[float]) -> list[str]:
    """Section 2: each needle photo right after each footage frame (the last encoded frame is
    always one of them), through the detector: is it ever reused?"""
    from framesift.cache.changes import THUMBNAIL, ChangeDetector
    from framesift.decode import Sampling, decode_frames
    from framesift.eval.niah import load_needles, needle_frame

    rows = [
        row("footage", "needle photos", "footage frames before each",
            *(f"needle reused at {t:g}" for t in thresholds)),
        row(*["---"] * (3 + len(thresholds))),
    ]  # fmt: skip
    total = 0
    for name in FOOTAGE:
        video = str(ASSETS / name)
        footage = np.concatenate(
            [b.pixels for b in decode_frames(video, Sampling(fps=1), THUMBNAIL)]
        )  # (F, 64, 64, 3)
        photos = [needle_frame(n.image, video, THUMBNAIL) for n in load_needles(needles)]
        reused = [
            sum(
                not ChangeDetector(threshold).fresh(np.stack([frame, photo]))[1]
                for photo in photos
                for frame in footage  # the photo right after this footage frame
            )
            for threshold in thresholds
        ]
        pairs = len(photos) * len(footage)
        rows.append(row(name, len(photos), len(footage), *(f"{r} of {pairs}" for r in reused)))
        print(rows[-1], flush=True)
        total += sum(reused)
    verdict = (
        "No needle photo is ever reused: after whichever footage frame was last encoded, it is "
        "encoded itself, at every threshold here."
        if total == 0
        else f"Needle photos reused {total} times: a haystack may show them with a footage "
        "frame's embedding."
    )
    return [*rows, "", verdict]


def bench_niah(needles: Path, thresholds: list[float], threads: int, cache: Path) -> list[str]:
    """Section 3: V-NIAH, DKS at K = 8, haystacks encoded with the detector and without."""
    from framesift import Pipeline
    from framesift.cache import extract
    from framesift.eval.niah import NIAHConfig, run_niah

    rows = [
        row("footage", "threshold", "footage frames reused", "retrieval", "accuracy",
            *(f"acc @ {n}" for n in LENGTHS), "keyframes changed vs off", "answers changed",
            "wrong answers per needle"),
        row(*["---"] * (8 + len(LENGTHS))),
    ]  # fmt: skip
    notes = []
    for name in FOOTAGE:
        video = ASSETS / name
        baseline: list[dict] = []
        kept = "none"  # the largest threshold with the same retrieval and accuracy as off
        for threshold in [None, *thresholds]:
            out = cache / "runs" / f"{Path(name).stem}_{threshold}"
            config = NIAHConfig(
                haystack=str(video),
                needles=str(needles),
                out=str(out),
                lengths=LENGTHS,
                depths=DEPTHS,
                selectors=("dks",),
            )
            pipeline = Pipeline(
                budget=BUDGET,
                cache_dir=str(cache),
                reuse_threshold=threshold,
                threads=threads,
            )
            result = run_niah(config, pipeline)["selectors"]["dks"]
            samples = [json.loads(s) for s in (out / "samples.jsonl").read_text().splitlines()]
            footage = extract(  # the entry the haystacks were composed from
                video, pipeline.sampling(), pipeline.encoder, pipeline.cache,
                reuse_threshold=threshold,
            ).features.embeddings  # fmt: skip
            reused = int((footage[1:] == footage[:-1]).all(axis=1).sum())
            per_length = [
                np.mean([s["correct"] for s in samples if s["length"] == n]) for n in LENGTHS
            ]
            wrong = Counter(s["needle"] for s in samples if not s["correct"])
            outcome = (result["retrieval"], result["accuracy"])
            if not baseline:
                baseline, changed, off = samples, ("-", "-"), outcome
            else:
                pairs = list(zip(samples, baseline, strict=True))
                changed = tuple(
                    f"{sum(a[key] != b[key] for a, b in pairs)} of {len(pairs)}"
                    for key in ("keyframes", "prediction")
                )
            rows.append(
                row(name, "off" if threshold is None else f"{threshold:g}",
                    f"{reused} of {len(footage)}", f"{result['retrieval']:.1%}",
                    f"{result['accuracy']:.1%}", *(f"{a:.1%}" for a in per_length), *changed,
                    ", ".join(f"{k} {v}" for k, v in sorted(wrong.items())) or "none")
            )  # fmt: skip
            print(rows[-1], flush=True)
            if threshold is not None and outcome == off:
                kept = f"{threshold:g} ({reused} of {len(footage)} footage frames reused)"
        notes.append(f"{name}: largest threshold with retrieval and accuracy as without: {kept}.")
    return [*rows, "", *notes]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--thresholds", type=float, nargs="+", default=[2.0, 4.0, 8.0, 12.0, 24.0])
    parser.add_argument("--threads", type=int, default=2, help="encoder (ONNX Runtime) threads")
    parser.add_argument("--repeats", type=int, default=7, help="encodings timed per row")
    args = parser.parse_args()
    import torch
    from niah_real import make_needles

    from framesift.encode import build_encoder

    torch.set_num_threads(args.threads)  # the text tower
    encoder = build_encoder("bundled", threads=args.threads)
    encoder.encode_frames(np.zeros((1, 224, 224, 3), np.uint8))  # load before timing
    needles = make_needles(HERE / ".media" / "needles")
    load = os.getloadavg()[0]
    header = (
        f"{platform.machine()}, {os.cpu_count()} cores, encoder (ONNX Runtime) and torch "
        f"threads {args.threads}; load average {load:.1f} at the start (a shared machine: "
        f"encoding times move with other jobs, so they are compared within a footage's rows, "
        f"thresholds taking turns; rows that reuse nothing show the noise). "
        f"Footage at 1 fps, bundled encoder; thresholds in grey levels (of 255), the largest "
        f"mean change of any 8x8 block of a 64x64 thumbnail since the last encoded frame."
    )
    print(header, flush=True)
    with tempfile.TemporaryDirectory(prefix="framesift-changes-") as scratch:
        sections = [
            ("1. Frames reused and what they keep", bench_reuse(encoder, args.thresholds,
                                                                args.repeats)),
            ("2. Could a needle photo be reused?", bench_needles(needles, args.thresholds)),
            (f"3. V-NIAH, DKS at K = {BUDGET}, haystacks encoded with the detector and without",
             [NIAH_METHOD, "", *bench_niah(needles, args.thresholds, args.threads,
                                           Path(scratch))]),
        ]  # fmt: skip
    text = "# The change detector on real footage\n\n" + header + "\n"
    for title, rows in sections:
        text += f"\n## {title}\n\n" + "\n".join(rows) + "\n"
    out = HERE / "results" / "changes.md"
    out.write_text(text)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
