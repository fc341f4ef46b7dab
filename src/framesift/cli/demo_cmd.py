"""``framesift demo``: hide real photos in a generated video and find them again."""

from __future__ import annotations

import argparse
import os
import tempfile

from framesift.cli.options import add_pipeline_arguments, pipeline_config


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "demo",
        help="a one-minute offline demonstration on real photos",
        description="Builds a 60 s video of scikit-image photos (footage pans, with a cat, a cup "
        "of coffee and a rocket shown for 3 s each at known times), asks about each, and checks "
        "that the most relevant keyframe falls inside the right moment. Exits 1 if one is missed.",
    )
    parser.add_argument("--out", metavar="DIR", help="keep the demo video here (default: temp)")
    add_pipeline_arguments(parser)
    parser.set_defaults(run=run, budget=4)


def run(args: argparse.Namespace) -> int:
    from framesift.cli.ask_cmd import _clock
    from framesift.demo import run_demo
    from framesift.pipeline import Pipeline

    pipeline = Pipeline(pipeline_config(args, progress=True))
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or tmp
        os.makedirs(folder, exist_ok=True)
        video = os.path.join(folder, "framesift-demo.mp4")
        print(f"building {video} and asking {pipeline.config.selector} (budget {args.budget})...")
        outcomes = run_demo(video, pipeline)
    print(f"\n  {'question':<40} {'truth':>13}  {'top keyframe':>12}  {'score':>5}  answer")
    for o in outcomes:
        n, top = o.needle, max(o.result.keyframes, key=lambda k: k.score)
        truth = f"{_clock(n.start)}-{_clock(n.start + n.seconds)}"
        answer = o.result.answer or ""
        mark = "ok" if o.found else "MISSED"
        found_at = _clock(top.time)
        score = f"{top.score:.3f}"
        print(f"  {n.question:<40} {truth:>13}  {found_at:>12}  {score:>5}  {answer:<9} {mark}")
    found = sum(o.found for o in outcomes)
    timings = outcomes[0].result.timings
    print(
        f"\n{found}/{len(outcomes)} moments found. First question: decode+encode "
        f"{timings['decode'] + timings['encode']:.1f}s; later questions reused the cached features "
        f"({outcomes[-1].result.timings['total']:.2f}s)."
    )
    return 0 if found == len(outcomes) else 1
