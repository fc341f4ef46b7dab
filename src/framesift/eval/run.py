"""The evaluation runner: every question of a benchmark through one Pipeline, resumably.

Each answered question is one line of ``samples.jsonl``, appended and flushed as soon as it
is known, so a run that dies loses at most the question in flight. Started again with the
same arguments, the run drops a half-written last line, skips every question already on
file and goes on. Questions are grouped by video so each video's frame features are
computed once (the feature cache serves the rest). ``shard=(i, n)`` deals the videos, in
sorted order, round-robin to n shards and takes shard ``i``: every machine reads the same
annotations and computes the same split, so n machines share a run without talking.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from framesift.answer.choices import normalize_text, option_letter
from framesift.errors import FramesiftError, InputError
from framesift.eval.loaders import BENCHMARKS, Benchmark
from framesift.eval.report import write_results
from framesift.eval.samples import QASample
from framesift.pipeline import Pipeline, PipelineConfig

SAMPLES_FILE, CONFIG_FILE = "samples.jsonl", "config.json"


@dataclass(frozen=True)
class EvalConfig:
    benchmark: str
    annotations: str
    videos: str
    out: str
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    shard: tuple[int, int] = (0, 1)
    limit: int | None = None

    def __post_init__(self) -> None:
        index, count = self.shard
        if not 0 <= index < count:
            raise InputError(f"shard must be I/N with 0 <= I < N, got {index}/{count}")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"limit must be at least 1, got {self.limit}")

    def identity(self) -> dict[str, Any]:
        """What must match for a restarted run to continue this one (not out, not the cache)."""
        pipeline = asdict(self.pipeline)
        for key in ("cache_dir", "use_cache", "progress"):
            pipeline.pop(key)
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
    out.mkdir(parents=True, exist_ok=True)
    _claim_folder(out, config)
    benchmark = BENCHMARKS.build(config.benchmark)
    questions = take_shard(list(benchmark.load(Path(config.annotations))), config.shard)
    questions = questions[: config.limit] if config.limit else questions
    done = {record["qid"] for record in read_samples(out / SAMPLES_FILE, repair=True)}
    todo = sorted(
        (s for s in questions if s.qid not in done), key=lambda s: (s.video, s.start or 0.0)
    )
    pipeline = pipeline or Pipeline(config.pipeline)
    with open(out / SAMPLES_FILE, "a", encoding="utf-8") as samples:
        _answer_all(todo, benchmark, config, pipeline, samples, already=len(done))
    return write_results(out, config.identity(), total_questions=len(questions))


def _answer_all(todo, benchmark, config, pipeline, samples, already: int) -> None:
    from tqdm.auto import tqdm

    correct = answered = 0
    bar = tqdm(total=len(todo) + already, initial=already, unit="q", desc=config.benchmark)
    with bar:
        for sample in todo:
            record = answer_one(sample, benchmark, Path(config.videos), pipeline)
            samples.write(json.dumps(record) + "\n")
            samples.flush()
            os.fsync(samples.fileno())
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


def read_samples(path: Path, *, repair: bool = False) -> Iterable[dict[str, Any]]:
    """The complete records of a samples.jsonl; with ``repair``, cut a half-written tail.

    Only a last line without its newline can be half-written (lines are appended whole and
    flushed); it is dropped, and with ``repair`` removed from the file so appends stay clean.
    A malformed line elsewhere means the file was edited: that is an error, not a guess.
    """
    if not path.exists():
        return []
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if repair and len(complete) != len(data):
        with open(path, "r+b") as f:
            f.truncate(len(complete))
    records = []
    for number, line in enumerate(complete.decode("utf-8").splitlines(), 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}:{number} is not a JSON record ({exc}); fix or delete it"
            ) from exc
    return records


def _label(answer: int | str, options: tuple[str, ...]) -> str:
    return option_letter(answer) if options and isinstance(answer, int) else str(answer)


def _claim_folder(out: Path, config: EvalConfig) -> None:
    """A folder holds one run: refuse to mix answers of two different configurations."""
    path = out / CONFIG_FILE
    identity = config.identity()
    if path.exists():
        previous = json.loads(path.read_text())
        if previous != json.loads(json.dumps(identity)):
            raise InputError(
                f"{out} holds a run with a different configuration ({path}); "
                "resume with the same arguments or choose another --out"
            )
    else:
        path.write_text(json.dumps(identity, indent=1))
