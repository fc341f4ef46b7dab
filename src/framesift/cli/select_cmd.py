"""``framesift select``: a benchmark's keyframes, chosen once, for any model and harness."""

from __future__ import annotations

import argparse

from framesift.cli.options import add_pipeline_arguments, pipeline_config

# Pipeline options about answering: select answers nothing, so setting one is a mistake.
_ANSWER_OPTIONS = {"answerer": "--answerer", "merge": "--merge", "keyframe_pool": "--keyframe-pool"}


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "select",
        help="write the selected frames of every benchmark question (JSONL and BOLT's format)",
        description="Choose the keyframes of every question of a benchmark (decode, encode, "
        "select; nothing is answered) and write OUT: one JSON line per question with the "
        "frames' positions among the candidates, their timestamps and the candidate sampling; "
        "and OUT's name with .frame_indices.json, the file BOLT's lmms-eval fork reads "
        "(model_args frame_indices_json=FILE). Killed and started again with the same "
        "arguments, a run continues where it stopped (its progress is kept in OUT.run/).",
        epilog="example: framesift select --benchmark videomme --annotations "
        "videomme/test-00000-of-00001.parquet --videos videomme/data --out "
        "keyframes/videomme-dks8.jsonl --selector dks --budget 8",
    )
    from framesift.eval.loaders import BENCHMARKS

    parser.add_argument("--benchmark", required=True, choices=BENCHMARKS.names())
    parser.add_argument("--annotations", required=True, metavar="PATH", help="annotation file")
    parser.add_argument("--videos", required=True, metavar="DIR", help="folder of the videos")
    parser.add_argument("--out", required=True, metavar="FILE", help="JSON Lines file to write")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N questions")
    add_pipeline_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framesift.errors import InputError
    from framesift.eval.select import SelectConfig, run_select

    given = [flag for name, flag in _ANSWER_OPTIONS.items() if hasattr(args, name)]
    if given:
        raise InputError(f"select chooses frames and answers nothing; drop {', '.join(given)}")
    config = SelectConfig(
        benchmark=args.benchmark,
        annotations=args.annotations,
        videos=args.videos,
        out=args.out,
        pipeline=pipeline_config(args, progress=False, many_questions=True),
        limit=args.limit,
    )
    summary = run_select(config)
    print(
        f"{args.benchmark}: frames selected for {summary['questions']} questions, "
        f"{summary['errors']} errors\nframes: {summary['out']}\nBOLT frame_indices_json: "
        f"{summary['bolt']}"
    )
    return 0
