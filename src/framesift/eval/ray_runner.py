"""``framesift eval --ray``: a video's questions answered by a Ray actor that keeps its pipeline
warm, the records handed back to the driver in the order a local run writes them.

A video's questions travel together (its frame features are computed once, on one worker,
and read from the shared cache after that). Records wait in the driver until every video
before theirs is done, so ``samples.jsonl`` is always a prefix of the local run's order: a
killed Ray run resumes locally, or the other way round, by the one set of resume rules.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from framesift.eval.samples import QASample

Answers = Callable[[list[QASample]], Iterator[dict[str, Any]]]  # records, in the given order


@contextmanager
def answering_on_ray(config: Any, worker: type, videos: int) -> Iterator[Answers]:
    """Join ``config.ray`` and load ``config.workers`` actors of ``worker(config)`` (at most
    one per video); yields what turns the questions to answer into their records, in order.
    ``worker`` (``run.EvalWorker``) has ``load()`` and ``run(samples) -> records``."""
    from framesift.distributed import WorkerPool, cluster_cpus, connect, worker_gpus

    with connect(config.ray):
        workers = min(config.workers or cluster_cpus(), videos)
        gpus = worker_gpus(config.pipeline.device, workers)
        with WorkerPool(worker, [config], workers, gpus) as pool:
            yield lambda todo: _in_order(pool, todo)


def _in_order(pool: Any, todo: list[QASample]) -> Iterator[dict[str, Any]]:
    """Records of ``todo`` (sorted by video) in its order, each video's as soon as every video
    before it is done. A worker that failed for good stops the run; what was yielded is kept."""
    groups = [list(g) for _, g in itertools.groupby(todo, key=lambda s: s.video)]
    finished: dict[int, list[dict[str, Any]]] = {}
    following = 0
    for position, outcome in pool.map_unordered(groups):
        if isinstance(outcome, BaseException):
            raise outcome
        finished[position] = outcome
        while following in finished:
            yield from finished.pop(following)
            following += 1
