"""Aggregate samples.jsonl into results.json (shaped after lmms-eval's results file).

Accuracy overall, per question type (with the mean over types, STAR's headline number) and
per benchmark-specific group; mean and median latency per stage; frames seen per question;
errors counted apart. The aggregate is returned whole, not only logged.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from framesift.errors import InputError

RESULTS_FILE = "results.json"


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    answered = [r for r in records if r["error"] is None]
    accuracy = _mean([r["correct"] for r in records])
    by_type: dict[str, list[bool]] = defaultdict(list)
    by_group: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for r in answered:
        if r["question_type"] is not None:
            by_type[r["question_type"]].append(r["correct"])
        for key, value in r["groups"].items():
            by_group[key][value].append(r["correct"])
    types = {t: _accuracy(v) for t, v in sorted(by_type.items())}
    stages = sorted({stage for r in answered for stage in r["timings"]})
    return {
        # lmms-eval's "metric,filter" keys, so its readers find the headline number
        "accuracy,none": accuracy,
        "accuracy_stderr,none": _stderr(accuracy, len(records)),
        # errors count as wrong in accuracy: a reader must not see a higher score for a
        # run that failed to read its hardest videos
        "accuracy": accuracy,
        "accuracy_answered": _mean([r["correct"] for r in answered]),
        "n": len(records),
        "errors": len(records) - len(answered),
        "by_question_type": types,
        "question_type_average": _mean([t["accuracy"] for t in types.values()]),
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


def write_results(out: Path, identity: dict[str, Any], total_questions: int) -> dict[str, Any]:
    from framesift import __version__
    from framesift.eval.run import SAMPLES_FILE, read_samples

    records = list(read_samples(out / SAMPLES_FILE))
    benchmark = identity["benchmark"]
    results = {  # the layout of lmms-eval's results file, with framesift's breakdowns inside
        "results": {benchmark: {"alias": benchmark, **aggregate(records)}},
        "configs": {benchmark: {"annotations": identity["annotations"]}},
        "versions": {benchmark: __version__},
        "n-samples": {benchmark: {"original": total_questions, "effective": len(records)}},
        "config": identity,
        "framesift_version": __version__,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (out / RESULTS_FILE).write_text(json.dumps(results, indent=1))
    return results


def merge(shards: list[Path], out: Path) -> dict[str, Any]:
    """Combine shard folders of one run (same config but the shard) into ``out``."""
    from framesift.eval.run import CONFIG_FILE, SAMPLES_FILE, read_samples

    configs = [json.loads((d / CONFIG_FILE).read_text()) for d in shards]
    counts = {c["shard"][1] for c in configs}
    identity = {**configs[0], "shard": [0, 1]}
    for d, c in zip(shards, configs, strict=True):
        if {**c, "shard": [0, 1]} != identity:
            raise InputError(f"{d} is a shard of a different run; merge shards of one run only")
    present = sorted(c["shard"][0] for c in configs)
    if len(counts) != 1 or present != list(range(counts.pop())):
        raise InputError(f"shards {present} do not cover 0..N-1 exactly once; merge all of them")
    records = {r["qid"]: r for d in shards for r in read_samples(d / SAMPLES_FILE)}
    out.mkdir(parents=True, exist_ok=True)
    with open(out / SAMPLES_FILE, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records.values())
    (out / CONFIG_FILE).write_text(json.dumps(identity, indent=1))
    return write_results(out, identity, total_questions=len(records))


def _accuracy(values: list[bool]) -> dict[str, float | int]:
    return {"accuracy": _mean(values), "n": len(values)}


def _stderr(p: float | None, n: int) -> float | None:
    return None if p is None or n < 2 else (p * (1 - p) / (n - 1)) ** 0.5


def _mean(values: list) -> float | None:
    return sum(values) / len(values) if values else None
