"""``framesift eval`` and ``framesift eval-merge``: benchmark accuracy and cost, resumably."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from framesift.cli.options import add_pipeline_arguments, pipeline_config


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "eval",
        help="evaluate a pipeline on a video QA benchmark",
        description="Answer every question of a benchmark and write OUT/samples.jsonl (one line "
        "per question) and OUT/results.json (accuracy overall, per question type and group, "
        "latency per stage). Killed and started again with the same arguments, a run "
        "continues where it stopped. Missing or unreadable videos are recorded as errors.",
        epilog="example: framesift eval --benchmark nextqa --annotations val.csv "
        "--videos NExTVideo/ --out runs/nextqa-dks --selector dks --budget 8 --shard 0/4",
    )
    from framesift.eval.loaders import BENCHMARKS

    parser.add_argument("--benchmark", required=True, choices=BENCHMARKS.names())
    parser.add_argument("--annotations", required=True, metavar="PATH", help="annotation file")
    parser.add_argument("--videos", required=True, metavar="DIR", help="folder of the videos")
    parser.add_argument("--out", required=True, metavar="DIR", help="run folder (resumable)")
    parser.add_argument(
        "--shard", default="0/1", metavar="I/N", help="take shard I of N (by video; default 0/1)"
    )
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N questions")
    add_pipeline_arguments(parser)
    parser.set_defaults(run=run)

    merge = commands.add_parser(
        "eval-merge",
        help="combine the shard folders of one eval run",
        description="Merge the samples of every shard of one run into OUT and aggregate them.",
    )
    merge.add_argument("shards", nargs="+", metavar="DIR", help="the shard folders")
    merge.add_argument("--out", required=True, metavar="DIR", help="merged run folder")
    merge.set_defaults(run=run_merge)


def run(args: argparse.Namespace) -> int:
    from framesift.errors import InputError
    from framesift.eval.run import EvalConfig, run_eval

    index, sep, count = args.shard.partition("/")
    if not sep or not index.isdigit() or not count.isdigit():
        raise InputError(f"--shard expects I/N such as 0/4, got {args.shard!r}")
    config = EvalConfig(
        benchmark=args.benchmark,
        annotations=args.annotations,
        videos=args.videos,
        out=args.out,
        pipeline=pipeline_config(args, progress=False),
        shard=(int(index), int(count)),
        limit=args.limit,
    )
    print(summary(run_eval(config)))
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from framesift.eval.report import merge

    print(summary(merge([Path(d) for d in args.shards], Path(args.out))))
    return 0


def summary(results: dict) -> str:
    lines = []
    for benchmark, r in results["results"].items():
        acc = "n/a" if r["accuracy"] is None else f"{r['accuracy']:.1%}"
        lines.append(f"{benchmark}: accuracy {acc} over {r['n']} questions ({r['errors']} errors)")
        for qtype, t in r["by_question_type"].items():
            lines.append(f"  {qtype:<24} {t['accuracy']:.1%}  (n={t['n']})")
    lines.append(json.dumps({"n-samples": results["n-samples"]}))
    return "\n".join(lines)
