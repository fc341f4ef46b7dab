"""``framesift ask VIDEO QUESTION``: keyframes, answer and per-stage timings."""

from __future__ import annotations

import argparse
import json
import sys

from framesift.cli.options import add_pipeline_arguments, pipeline_config


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "ask",
        help="ask a question about a video",
        description="Pick the keyframes that answer QUESTION and, given --option, the answer.",
        epilog='example: framesift ask clip.mp4 "What animal appears?" '
        '--option "a dog" --option "a cat" --budget 4 --json',
    )
    parser.add_argument("video", help="video file (anything FFmpeg decodes)")
    parser.add_argument("question", help="the question, in natural language")
    parser.add_argument(
        "--option", action="append", metavar="TEXT", help="an answer option (repeat, two or more)"
    )
    parser.add_argument("--start", type=float, metavar="S", help="window start, seconds")
    parser.add_argument("--end", type=float, metavar="E", help="window end, seconds")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--report",
        metavar="FILE",
        help="also write the answer, a relevance timeline and keyframe thumbnails to one "
        "self-contained HTML file",
    )
    add_pipeline_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framesift.pipeline import Pipeline

    pipeline = Pipeline(pipeline_config(args, progress=not args.json))
    result = pipeline.ask(args.video, args.question, args.option, start=args.start, end=args.end)
    if args.report:
        from framesift.serve.report import write_report

        write_report(args.report, pipeline, result, start=args.start, end=args.end)
    if args.json:
        json.dump(result.to_dict(), sys.stdout)
        print()
    else:
        print(render(result, cache=pipeline.config.use_cache))
    return 0


def render(result, *, cache: bool = True) -> str:
    lines = [
        f"{result.video}: {result.frames_considered} candidate frames, "
        f"{result.selector} chose {len(result.keyframes)} (budget {result.budget}), "
        f"encoder {result.encoder}",
        "",
        f"  {'index':>5}  {'time':>9}  {'score':>6}",
    ]
    best = max(result.keyframes, key=lambda k: k.score)
    for k in result.keyframes:
        mark = "  <- most relevant" if k is best else ""
        lines.append(f"  {k.index:>5}  {_clock(k.time):>9}  {k.score:6.3f}{mark}")
    if result.answer_index == -1:
        lines += ["", f"answer: {result.answer}"]
    elif result.answer is not None:
        lines.append("")
        for i, (option, score) in enumerate(zip(result.options, result.option_scores, strict=True)):
            mark = "*" if i == result.answer_index else " "
            lines.append(f"  {mark} ({chr(65 + i)}) {option}  [{score:.3f}]")
        lines.append(f"answer: ({chr(65 + result.answer_index)}) {result.answer}")
    if result.tokens:
        n = result.tokens
        lines.append(
            f"visual tokens: {n['before']} -> {n['after']} ({n['keyframe_tokens']} keyframe, "
            f"{n['merged_tokens']} merged)"
        )
    t = result.timings
    if result.cached:
        source = "features from the cache"
    else:
        source = "features computed and cached" if cache else "features computed, not cached"
    lines += [
        "",
        f"timings: load {t['load']:.2f}s  decode {t['decode']:.2f}s  encode {t['encode']:.2f}s"
        f"  select {t['select']:.3f}s  compress {t['compress']:.2f}s  answer {t['answer']:.3f}s"
        f"  total {t['total']:.2f}s ({source})",
    ]
    return "\n".join(lines)


def _clock(seconds: float) -> str:
    minutes, sec = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{sec:04.1f}" if hours else f"{minutes}:{sec:04.1f}"
