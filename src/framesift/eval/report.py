"""Aggregate samples.jsonl into results.json, laid out like lmms-eval's results file.

A script written for lmms-eval's files finds what it looks for: ``results[task]`` holds the
benchmark's headline metric under lmms-eval's ``"<metric>,none"`` key and scale (Video-MME's
``videomme_perception_score`` in percent, LongVideoBench's ``lvb_acc`` as a fraction, MLVU's
``mlvu_percetion_score``, the mean of its task accuracies), with ``higher_is_better`` and
``n-samples`` beside it. framesift's own breakdowns sit next to it: accuracy overall, per
question type (with their mean, STAR's headline number) and per benchmark group; latency per
stage; frames per question; errors, questions skipped for lack of an answer, and annotation
issues counted apart. The aggregate is returned whole, not only logged.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from framesift import __version__
from framesift.errors import InputError
from framesift.eval import runfolder
from framesift.eval.loaders import BENCHMARKS, Metric


def aggregate(records: list[dict[str, Any]], metric: Metric) -> dict[str, Any]:
    """Every number of one benchmark's results entry. Errors count as wrong everywhere: a reader
    must not see a higher score for a run that failed to read its hardest videos."""
    answered = [r for r in records if r["error"] is None]
    accuracy = _mean([r["correct"] for r in records])
    by_type: dict[str, list[bool]] = defaultdict(list)
    by_group: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if r["question_type"] is not None:
            by_type[r["question_type"]].append(r["correct"])
        for key, value in r["groups"].items():
            by_group[key][value].append(r["correct"])
    types = {t: _accuracy(v) for t, v in sorted(by_type.items())}
    type_average = _mean([t["accuracy"] for t in types.values()])
    headline = type_average if metric.mean_over_types else accuracy
    issues = Counter(i for r in records for i in r.get("annotation_issues", ()))
    stages = sorted({stage for r in answered for stage in r["timings"]})
    return {
        # lmms-eval's "metric,filter" keys, so its readers find the headline number
        f"{metric.name},none": None if headline is None else headline * metric.scale,
        f"{metric.name}_stderr,none": (
            "N/A" if metric.mean_over_types else _stderr(accuracy, len(records), metric.scale)
        ),
        "accuracy,none": accuracy,
        "accuracy_stderr,none": _stderr(accuracy, len(records), 1.0),
        "accuracy": accuracy,
        "accuracy_answered": _mean([r["correct"] for r in answered]),
        "n": len(records),
        "errors": len(records) - len(answered),
        "annotation_issues": dict(sorted(issues.items())),
        "counted_wrong": issues["answer_not_in_options"],  # no option is right: always wrong
        "by_question_type": types,
        "question_type_average": type_average,
        "by_group": {
            key: {value: _accuracy(v) for value, v in sorted(values.items())}
            for key, values in sorted(by_group.items())
        },
        "latency_seconds": {
            stage: {
                "mean": _mean([r["timings"][stage] for r in answered]),
                "median": statistics.median([r["timings"][stage] for r in answered]),
            }
            for stage in stages
        },
        "frames_considered_per_question": _mean([r["frames_considered"] for r in answered]),
        "frames_seen_per_question": _mean([r["frames_seen"] for r in answered]),
    }


def build_results(config: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """``results.json`` of a run whose ``config.json`` is ``config`` and samples ``records``."""
    benchmark = config["benchmark"]
    metric = BENCHMARKS.get(benchmark).metric
    counts = config[runfolder.COUNTS_KEY]
    entry = {"alias": benchmark, **aggregate(records, metric)}
    entry["skipped_without_answer"] = counts["skipped_without_answer"]
    return {
        "results": {benchmark: entry},
        "configs": {benchmark: {"annotations": config["annotations"], "metric": metric.name}},
        "versions": {benchmark: __version__},
        "higher_is_better": {benchmark: {metric.name: True, "accuracy": True}},
        "n-samples": {
            benchmark: {"original": counts["original"], "effective": counts["effective"]}
        },
        "config": config,
        "framesift_version": __version__,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def merge(shards: list[Path], out: Path) -> dict[str, Any]:
    """Combine shard folders of one run (same config but the shard) into ``out``."""
    runfolder.check_out(out)
    if out.resolve() in {d.resolve() for d in shards}:
        raise InputError(f"--out {out} is one of the shards; merge into a new folder")
    configs = [runfolder.read_config(d) for d in shards]
    for d, c in zip(shards, configs, strict=True):
        if runfolder.DIGEST_KEY not in c or runfolder.COUNTS_KEY not in c:
            raise InputError(f"{d} was written by an older framesift; run that shard again")
    base = _without_shard(configs[0])
    for d, c in zip(shards, configs, strict=True):
        if _without_shard(c) != base:
            raise InputError(f"{d} is a shard of a different run; merge shards of one run only")
    counts = {c["shard"][1] for c in configs}
    present = sorted(c["shard"][0] for c in configs)
    if len(counts) != 1 or present != list(range(counts.pop())):
        raise InputError(f"shards {present} do not cover 0..N-1 exactly once; merge all of them")
    records: dict[str, dict[str, Any]] = {}
    for d in shards:
        for r in runfolder.read_samples(d):
            if records.setdefault(r["qid"], r) is not r:
                raise InputError(f"question {r['qid']!r} is in two shards; they overlap")
    questions = [c[runfolder.COUNTS_KEY] for c in configs]
    config = {
        **base,
        "shard": [0, 1],
        runfolder.COUNTS_KEY: {
            **questions[0],
            "effective": sum(q["effective"] for q in questions),
        },
    }
    runfolder.claim(out, config)
    runfolder.write_samples(out, list(records.values()))
    results = build_results(config, list(records.values()))
    runfolder.write_results(out, results)
    return results


def _without_shard(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in ("shard", runfolder.COUNTS_KEY)}


def _accuracy(values: list[bool]) -> dict[str, float | int]:
    return {"accuracy": _mean(values), "n": len(values)}


def _stderr(p: float | None, n: int, scale: float) -> float | None:
    return None if p is None or n < 2 else scale * (p * (1 - p) / (n - 1)) ** 0.5


def _mean(values: list) -> float | None:
    return sum(values) / len(values) if values else None
