"""``framesift eval`` and ``framesift eval-merge``: benchmark accuracy and cost, resumably.

Options without a value stay unset, so ``EvalConfig`` is the one place that holds defaults.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from framesift.cli.index_cmd import add_ray_argument
from framesift.cli.options import add_pipeline_arguments, pipeline_config


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "eval",
        help="evaluate a pipeline on a video QA benchmark",
        description="Answer every question of a benchmark and write OUT/samples.jsonl (one line "
        "per question) and OUT/results.json (accuracy overall, per question type and group, "
        "latency per stage, lmms-eval's metric for the benchmark). Killed and started again "
        "with the same arguments, a run continues where it stopped; it refuses to continue "
        "if the annotations changed meanwhile. Missing or unreadable videos are recorded as "
        "errors. With --ray, a Ray cluster answers (questions grouped by video, one warm "
        "pipeline per actor) and this process writes the same files in the same order, so a "
        "run can be resumed with or without --ray.",
        epilog="example: framesift eval --benchmark nextqa --annotations val.csv "
        "--videos NExTVideo/ --out runs/nextqa-dks --selector dks --budget 8 --shard 0/4",
    )
    from framesift.eval.loaders import BENCHMARKS

    parser.add_argument("--benchmark", required=True, choices=BENCHMARKS.names())
    parser.add_argument("--annotations", required=True, metavar="PATH", help="annotation file")
    parser.add_argument("--videos", required=True, metavar="DIR", help="folder of the videos")
    parser.add_argument("--out", required=True, metavar="DIR", help="run folder (resumable)")
    parser.add_argument(
        "--shard", metavar="I/N", help="take shard I of N, by video (omit for all questions)"
    )
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N questions")
    add_ray_argument(parser)
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="with --ray: actors answering, each with its own pipeline (default: one per CPU of "
        "the cluster, at most one per video)",
    )
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
    from framesift.eval.run import EvalConfig, run_eval

    given: dict[str, Any] = {"limit": args.limit, "ray": args.ray, "workers": args.workers}
    if args.shard is not None:
        given["shard"] = _shard(args.shard)
    config = EvalConfig(
        benchmark=args.benchmark,
        annotations=args.annotations,
        videos=args.videos,
        out=args.out,
        pipeline=pipeline_config(args, progress=False, many_questions=True),
        **{k: v for k, v in given.items() if v is not None},
    )
    print(summary(run_eval(config), Path(args.out)))
    return 0


def _shard(text: str) -> tuple[int, int]:
    from framesift.errors import InputError

    index, sep, count = text.partition("/")
    if not sep or not index.isdigit() or not count.isdigit():
        raise InputError(f"--shard expects I/N such as 0/4, got {text!r}")
    return int(index), int(count)


def run_merge(args: argparse.Namespace) -> int:
    from framesift.eval.report import merge

    print(summary(merge([Path(d) for d in args.shards], Path(args.out)), Path(args.out)))
    return 0


def summary(results: dict, out: Path) -> str:
    """What a person reads at the end of a run; the numbers are all in results.json."""
    from framesift.eval.runfolder import RESULTS_FILE

    lines = []
    for benchmark, r in results["results"].items():
        counts = results["n-samples"][benchmark]
        acc = "n/a" if r["accuracy"] is None else f"{r['accuracy']:.1%}"
        covered = f"{r['n']} of {counts['effective']}"
        if counts["effective"] != counts["original"]:
            covered += f" (of {counts['original']} in the benchmark)"
        lines.append(f"{benchmark}: accuracy {acc} over {covered} questions, {r['errors']} errors")
        metric = results["configs"][benchmark]["metric"]
        if metric != "accuracy" and r[f"{metric},none"] is not None:
            lines.append(f"  {metric} {r[f'{metric},none']:.4g}")
        for qtype, t in r["by_question_type"].items():
            lines.append(f"  {qtype:<24} {t['accuracy']:.1%}  (n={t['n']})")
        if r["skipped_without_answer"]:
            lines.append(f"  {r['skipped_without_answer']} questions without an answer skipped")
        if r["annotation_issues"]:
            issues = ", ".join(f"{k} {v}" for k, v in r["annotation_issues"].items())
            lines.append(f"  annotation issues (scored as the benchmark scores them): {issues}")
    lines.append(f"results: {out / RESULTS_FILE}")
    return "\n".join(lines)
