"""Selected frames for any pipeline: a benchmark's keyframes chosen once, written for reuse.

``run_select`` runs only the selection half of a Pipeline (decode, encode, select; nothing is
answered) over every question of a benchmark and writes two files:

- ``OUT`` (JSON Lines, one record per question, in annotation order): the selected frames as
  positions among the candidates (``frame_indices``), their true decoded times in seconds
  (``timestamps``) and relevance (``scores``), sorted by time, with the candidate sampling they
  refer to (``sampling``: fps or frame count, clip window, number of candidates) and what chose
  them (encoder, selector, budget). A video that cannot be read is a record with ``error``.
- ``OUT`` with the suffix ``.frame_indices.json``: the same frames in the file BOLT's
  lmms-eval fork reads through ``frame_indices_json=...``: ``{video name without extension:
  [{"question_id", "question", "frames": [seconds, 2 decimals]}]}``. The fork picks the entry
  whose question text occurs in the task's prompt and maps each second to the nearest source
  frame (``round(seconds * video_fps)``), so any model it wraps sees framesift's keyframes.

Progress lives in a run folder beside ``OUT`` (``OUT.run/``, the eval harness's layout from
``runfolder``): killed and started again with the same arguments, a run continues; changed
annotations or arguments are refused. ``OUT`` and the BOLT file are written whole, at the end,
and the run folder is then removed. Everything that can refuse a run is checked before anything
is written.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from framesift.errors import FramesiftError, InputError
from framesift.eval import runfolder
from framesift.eval.loaders import BENCHMARKS, Benchmark
from framesift.eval.run import questions_digest
from framesift.eval.runfolder import _write_atomic
from framesift.eval.samples import QASample
from framesift.pipeline import Pipeline, PipelineConfig

BOLT_SUFFIX = ".frame_indices.json"


@dataclass(frozen=True)
class SelectConfig:
    benchmark: str
    annotations: str
    videos: str
    out: str
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise InputError(f"limit must be at least 1, got {self.limit}")

    @property
    def bolt_file(self) -> Path:
        return bolt_path(Path(self.out))

    @property
    def run_folder(self) -> Path:
        out = Path(self.out)
        return out.with_name(out.name + ".run")

    def identity(self) -> dict[str, Any]:
        """What a restarted run must share to continue this one (not the cache settings or
        the thread count)."""
        pipeline = asdict(self.pipeline)
        for key in ("cache_dir", "use_cache", "progress", "threads"):  # not what answers depend on
            pipeline.pop(key, None)
        return {
            "command": "select",
            "benchmark": self.benchmark,
            "annotations": os.path.abspath(self.annotations),
            "pipeline": pipeline,
            "limit": self.limit,
        }


def bolt_path(out: Path) -> Path:
    """``runs/videomme.jsonl`` -> ``runs/videomme.frame_indices.json``."""
    return out.with_name(out.stem + BOLT_SUFFIX)


def run_select(config: SelectConfig, pipeline: Pipeline | None = None) -> dict[str, Any]:
    """Select frames for every (remaining) question, write both files, return a summary."""
    out = Path(config.out)
    for path in (out, config.bolt_file):
        if path.is_dir():
            raise InputError(f"{path} is a folder; --out names the JSON Lines file to write")
    videos = Path(config.videos)
    if not videos.is_dir():
        raise InputError(f"videos folder not found (or not a folder): {videos}")
    benchmark = BENCHMARKS.build(config.benchmark)
    every = list(benchmark.load(Path(config.annotations)))
    questions = every[: config.limit]
    folder = config.run_folder
    runfolder.claim(
        folder,
        {
            **config.identity(),
            runfolder.DIGEST_KEY: questions_digest(every),
            runfolder.COUNTS_KEY: {"original": len(every), "effective": len(questions)},
        },
    )
    done = {record["qid"] for record in runfolder.read_samples(folder, repair=True)}
    todo = sorted(
        (s for s in questions if s.qid not in done), key=lambda s: (s.video, s.start or 0.0)
    )
    pipeline = pipeline or Pipeline(config.pipeline)
    _select_all(todo, benchmark, videos, pipeline, folder, already=len(done))
    by_qid = {record["qid"]: record for record in runfolder.read_samples(folder)}
    records = [by_qid[s.qid] for s in questions]
    _write_atomic(out, "".join(json.dumps(r) + "\n" for r in records))
    _write_atomic(config.bolt_file, json.dumps(bolt_frames(records)))
    shutil.rmtree(folder)
    errors = sum(r["error"] is not None for r in records)
    return {"questions": len(records), "errors": errors, "out": out, "bolt": config.bolt_file}


def _select_all(
    todo: list[QASample],
    benchmark: Benchmark,
    videos: Path,
    pipeline: Pipeline,
    folder: Path,
    already: int,
) -> None:
    from tqdm.auto import tqdm

    with (
        runfolder.appending_samples(folder) as append,
        tqdm(total=len(todo) + already, initial=already, unit="q", desc="select") as bar,
    ):
        for sample in todo:
            append(select_one(sample, benchmark, videos, pipeline))
            bar.update()


def select_one(
    sample: QASample, benchmark: Benchmark, videos: Path, pipeline: Pipeline
) -> dict[str, Any]:
    """One record of ``OUT``; a video that cannot be read becomes a recorded error."""
    record: dict[str, Any] = {
        "qid": sample.qid,
        "video": sample.video,
        "question": sample.question,
        "start": sample.start,
        "end": sample.end,
        "error": None,
    }
    try:
        video = benchmark.video_file(videos, sample)
        # no options: the pipeline selects and answers nothing (the similarity answerer
        # is not open-ended), so the frames depend on the question alone
        result = pipeline.ask(video, sample.question, None, start=sample.start, end=sample.end)
    except (FramesiftError, OSError) as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
        return record
    keyframes = sorted(result.keyframes, key=lambda k: k.time)
    config = pipeline.config
    record.update(
        frame_indices=[k.index for k in keyframes],
        timestamps=[k.time for k in keyframes],
        scores=[k.score for k in keyframes],
        sampling={
            "fps": None if config.frames is not None else config.fps,
            "frames": config.frames,
            "start": sample.start,
            "end": sample.end,
            "candidates": result.frames_considered,
        },
        encoder=result.encoder,
        selector=result.selector,
        budget=result.budget,
    )
    return record


def bolt_frames(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """BOLT's ``frame_indices_json``: per video name (file name up to its first dot, as the
    fork derives it from the path lmms-eval passes), each question's frames in seconds."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r["error"] is not None:
            continue
        name = Path(r["video"]).name.split(".")[0]
        out.setdefault(name, []).append(
            {
                "question_id": r["qid"],
                "question": r["question"],
                "frames": [round(float(t), 2) for t in r["timestamps"]],
            }
        )
    return out
