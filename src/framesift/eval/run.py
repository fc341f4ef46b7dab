"""The evaluation runner: every question of a benchmark through one Pipeline, resumably.

Each answered question is one line of ``samples.jsonl``, appended and flushed as soon as it
is known, so a run that dies loses at most the question in flight. Started again with the
same arguments, the run drops a half-written last line, skips every question already on
file and goes on. Questions are grouped by video so each video's frame features are
computed once (the feature cache serves the rest). ``shard=(i, n)`` deals the videos, in
sorted order, round-robin to n shards and takes shard ``i``: every machine reads the same
annotations and computes the same split, so n machines share a run without talking.

Everything that can refuse a run (annotations that do not load, a videos folder that does not
exist, an ``--out`` that is a file or holds another run) is checked before the run folder is
created; ``runfolder`` owns that folder's layout.

With ``ray``, questions grouped by video go to Ray actors that keep a pipeline warm
(``framesift.eval.ray_runner``); this process still writes every record, in the order a
local run writes them, so a run can move between here and a cluster when it resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from framesift.answer.choices import normalize_text, option_letter
from framesift.errors import FramesiftError, InputError
from framesift.eval import runfolder
from framesift.eval.loaders import BENCHMARKS, Benchmark
from framesift.eval.ray_runner import Answers, answering_on_ray
from framesift.eval.report import build_results
from framesift.eval.samples import QASample
from framesift.pipeline import Pipeline, PipelineConfig


@dataclass(frozen=True)
class EvalConfig:
    benchmark: str
    annotations: str
    videos: str
    out: str
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    shard: tuple[int, int] = (0, 1)
    limit: int | None = None
    # where the questions are answered, not what the run is (a run moves between them):
    ray: str | None = None  # a Ray address (framesift.distributed.LOCAL: started here)
    workers: int | None = None  # Ray actors (default: one per CPU of the cluster)

    def __post_init__(self) -> None:
        index, count = self.shard
        if not 0 <= index < count:
            raise InputError(f"shard must be I/N with 0 <= I < N, got {index}/{count}")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"limit must be at least 1, got {self.limit}")
        if self.workers is not None and self.workers < 1:
            raise InputError(f"workers must be at least 1, got {self.workers}")
        if self.workers is not None and self.ray is None:
            raise InputError("workers counts Ray actors; give ray too (--ray [ADDRESS])")

    def identity(self) -> dict[str, Any]:
        """What must match for a restarted run to continue this one (not out, the cache
        settings or the thread count)."""
        pipeline = asdict(self.pipeline)
        for key in ("cache_dir", "use_cache", "progress", "threads"):  # not what answers depend on
            pipeline.pop(key, None)
        return {
            "benchmark": self.benchmark,
            "annotations": os.path.abspath(self.annotations),
            "pipeline": pipeline,
            "shard": list(self.shard),
            "limit": self.limit,
        }


def take_shard(questions: list[QASample], shard: tuple[int, int]) -> list[QASample]:
    """Whole videos per shard (a video's features are computed on one machine), balanced."""
    index, count = shard
    videos = sorted({q.video for q in questions})
    mine = set(videos[index::count])
    return [q for q in questions if q.video in mine]


def run_eval(config: EvalConfig, pipeline: Pipeline | None = None) -> dict[str, Any]:
    """Answer every (remaining) question, then write and return ``results.json``."""
    out = Path(config.out)
    runfolder.check_out(out)
    videos = Path(config.videos)
    if not videos.is_dir():
        raise InputError(f"videos folder not found (or not a folder): {videos}")
    benchmark = BENCHMARKS.build(config.benchmark)
    every = list(benchmark.load(Path(config.annotations)))
    questions = take_shard(every, config.shard)[: config.limit]
    if not questions:
        index, count = config.shard
        raise InputError(
            f"shard {index}/{count} holds no questions: the {len(every)} questions are about "
            f"fewer than {count} videos; use fewer shards"
        )
    run = {
        **config.identity(),
        runfolder.DIGEST_KEY: questions_digest(every),
        runfolder.COUNTS_KEY: {
            "original": len(every),
            "effective": len(questions),
            "skipped_without_answer": benchmark.skipped,
        },
    }
    if config.ray is None:
        answering = _answering_here(config, benchmark, pipeline or Pipeline(config.pipeline))
    else:
        if pipeline is not None:
            raise InputError("a Ray run builds its pipelines on the workers; pass no pipeline")
        answering = answering_on_ray(config, EvalWorker, videos=len({q.video for q in questions}))
    # the models load first: one that cannot stops the run here, not as N recorded errors
    with answering as answers:
        runfolder.claim(out, run)
        done = {record["qid"] for record in runfolder.read_samples(out, repair=True)}
        todo = sorted(
            (s for s in questions if s.qid not in done), key=lambda s: (s.video, s.start or 0.0)
        )
        with runfolder.appending_samples(out) as append:
            _answer_all(todo, config, answers(todo), append, already=len(done))
    results = build_results(run, runfolder.read_samples(out))
    runfolder.write_results(out, results)
    return results


def questions_digest(questions: list[QASample]) -> str:
    """Fingerprint of the questions as loaded (ids, texts, options, gold answers, windows), so a
    resumed run notices edited annotations whichever file of the benchmark changed."""
    canonical = json.dumps([asdict(q) for q in questions], sort_keys=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@contextmanager
def _answering_here(
    config: EvalConfig, benchmark: Benchmark, pipeline: Pipeline
) -> Iterator[Answers]:
    pipeline.load()
    videos = Path(config.videos)
    yield lambda todo: (answer_one(sample, benchmark, videos, pipeline) for sample in todo)


class EvalWorker:
    """A Ray actor's pipeline and benchmark, loaded once (again after Ray restarts a worker
    that died); ``run`` answers one video's questions (see ``framesift.eval.ray_runner``)."""

    def __init__(self, config: EvalConfig) -> None:
        self.config = config
        self.loaded: tuple[Pipeline, Benchmark] | None = None

    def load(self) -> None:
        pipeline = Pipeline(self.config.pipeline)
        pipeline.load()
        self.loaded = pipeline, BENCHMARKS.build(self.config.benchmark)

    def run(self, samples: list[QASample]) -> list[dict[str, Any]]:
        if self.loaded is None:
            self.load()
        pipeline, benchmark = self.loaded  # type: ignore[misc]
        videos = Path(self.config.videos)
        return [answer_one(s, benchmark, videos, pipeline) for s in samples]


def _answer_all(
    todo: list[QASample],
    config: EvalConfig,
    records: Iterator[dict[str, Any]],
    append: Callable[[dict[str, Any]], None],
    already: int,
) -> None:
    from tqdm.auto import tqdm

    correct = answered = 0
    bar = tqdm(total=len(todo) + already, initial=already, unit="q", desc=config.benchmark)
    with bar:
        for record in records:
            append(record)
            answered += record["error"] is None
            correct += bool(record["correct"])
            bar.set_postfix(acc=f"{correct / max(answered, 1):.1%}", refresh=False)
            bar.update()


def answer_one(
    sample: QASample, benchmark: Benchmark, videos: Path, pipeline: Pipeline
) -> dict[str, Any]:
    """One samples.jsonl record; a video that cannot be read becomes a recorded error."""
    record: dict[str, Any] = {
        "doc_id": sample.qid,
        "qid": sample.qid,
        "video": sample.video,
        "question": sample.question,
        "options": list(sample.options),
        "target": _label(sample.answer, sample.options),
        "question_type": sample.question_type,
        "groups": dict(sample.groups),
        "annotation_issues": list(sample.issues),
        "prediction": None,
        "correct": False,
        "error": None,
    }
    t0 = time.perf_counter()
    try:
        video = benchmark.video_file(videos, sample)
        result = pipeline.ask(
            video, sample.question, list(sample.options) or None, start=sample.start, end=sample.end
        )
    except (FramesiftError, OSError) as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["timings"] = {"total": time.perf_counter() - t0}
        return record
    if result.answer is not None:
        record["resps"] = [[result.answer]]  # lmms-eval: the raw response, then the parsed one
        if not sample.options:  # open-ended: exact match after normalisation
            record["prediction"] = result.answer
            record["correct"] = normalize_text(result.answer) == normalize_text(sample.answer)
        elif result.answer_index >= 0:
            record["prediction"] = option_letter(result.answer_index)
            record["correct"] = result.answer_index == sample.answer
        # else: an unparseable reply stays None (wrong), kept verbatim in resps
        record["filtered_resps"] = [record["prediction"]]
    record.update(
        keyframes=[asdict(k) for k in result.keyframes],
        frames_considered=result.frames_considered,
        frames_seen=len(result.keyframes),
        cached=result.cached,
        timings=result.timings,
    )
    return record


def _label(answer: int | str | None, options: tuple[str, ...]) -> str | None:
    if answer is None:  # no option is right (see QASample)
        return None
    return option_letter(answer) if options and isinstance(answer, int) else str(answer)
