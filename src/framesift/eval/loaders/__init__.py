"""Benchmark annotation loaders: each turns one released format into ``QASample``s.

``BENCHMARKS.build("nextqa")`` imports only that loader; ``BENCHMARKS.get(name)`` is its class,
for keyword arguments (``BENCHMARKS.get("egoschema")(answers=Path("subset_answers.json"))``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from framesift.eval.samples import QASample
from framesift.registry import Registry


@dataclass(frozen=True)
class Metric:
    """A benchmark's headline number under the name and scale lmms-eval reports it.

    ``name``: lmms-eval's metric key (``"videomme_perception_score"``), so a script written for
    its results files finds the number in framesift's; ``scale``: 100 for a percentage, 1 for a
    fraction; ``mean_over_types``: the mean of the per-question-type accuracies (MLVU's mean
    over tasks) rather than the accuracy over all questions.
    """

    name: str = "accuracy"
    scale: float = 1.0
    mean_over_types: bool = False


class Benchmark(Protocol):
    """Reads one benchmark's annotations and finds its videos.

    ``load`` yields samples in file order; a malformed entry raises ``InputError`` naming the
    file and line/entry, and questions without ground truth are skipped and counted in
    ``skipped``. ``video_file`` resolves ``sample.video`` under ``videos_dir`` with the
    benchmark's naming convention, trying .mp4 .mkv .webm .avi .mov; when nothing exists it
    returns the expected ``.mp4`` path (the caller reports the missing file).
    ``breakdown_keys``: what accuracy is reported per: ``"question_type"`` (the sample field)
    and group names (keys of ``sample.groups``); empty for overall accuracy only.
    ``metric``: the headline number as lmms-eval names and scales it.
    """

    name: str
    breakdown_keys: tuple[str, ...]
    metric: Metric
    skipped: int

    def load(self, annotations: Path) -> Iterator[QASample]: ...

    def video_file(self, videos_dir: Path, sample: QASample) -> Path: ...


BENCHMARKS: Registry[Benchmark] = Registry(
    "benchmark",
    {
        "nextqa": "framesift.eval.loaders.nextqa:NExTQA",
        "star": "framesift.eval.loaders.star:STAR",
        "how2qa": "framesift.eval.loaders.how2qa:How2QA",
        "tvqa": "framesift.eval.loaders.tvqa:TVQA",
        "vlep": "framesift.eval.loaders.vlep:VLEP",
        "videomme": "framesift.eval.loaders.videomme:VideoMME",
        "mlvu": "framesift.eval.loaders.mlvu:MLVU",
        "longvideobench": "framesift.eval.loaders.longvideobench:LongVideoBench",
        "egoschema": "framesift.eval.loaders.egoschema:EgoSchema",
        "activitynet_qa": "framesift.eval.loaders.activitynet_qa:ActivityNetQA",
        "generic": "framesift.eval.loaders.generic:Generic",
    },
)

__all__ = ["BENCHMARKS", "Benchmark", "Metric"]
