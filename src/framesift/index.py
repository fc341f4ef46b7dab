"""Index a video corpus ahead of its questions: every video's cache entries, in parallel.

Encoding is the expensive, question-independent half of the pipeline, done once per video;
``index_videos`` does it for many videos with N worker processes on this machine, or N Ray
actors on a cluster (``framesift.distributed``), each loading the models once. The cache
makes this safe: entries are written atomically and built once however many processes ask,
so a killed run started again does only what is left (cached videos come back at once) and
two workers never write one entry twice.

A video that fails is recorded with its error and the rest go on. Every outcome is appended,
as it arrives, to ``CACHE/index-runs/<key>.jsonl`` (``key``: the videos and what they are
indexed for), the run's lasting record.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from framesift.errors import FramesiftError, InputError
from framesift.pipeline import Pipeline, PipelineConfig

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".ogv", ".wmv"}
)
LEDGER_FOLDER = "index-runs"
INDEXED, CACHED, FAILED = "indexed", "cached", "failed"


def find_videos(paths: Iterable[str | os.PathLike], from_list: str | None = None) -> list[str]:
    """Absolute paths of the videos named: files as given, folders searched (recursively) for
    video files, and the lines of ``from_list`` (one path a line, relative to the list's
    folder; blank lines and ``#`` comments skipped). Each video once, in the order named."""
    named = [Path(p) for p in paths]
    if from_list is not None:
        named += _read_list(Path(from_list))
    if not named:
        raise InputError("no videos: name files or folders, or give --from-list FILE")
    found: dict[str, None] = {}
    for path in named:
        if path.is_dir():
            videos = sorted(
                p for p in path.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()
            )
            if not videos:
                raise InputError(f"no video files in folder {path}")
            found.update(dict.fromkeys(str(v.resolve()) for v in videos))
        elif path.is_file():
            found[str(path.resolve())] = None
        else:
            raise InputError(f"video not found: {path}")
    return list(found)


def _read_list(path: Path) -> list[Path]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read the video list {path}: {e}") from None
    lines = [line.strip() for line in text.splitlines()]
    named = [path.parent / line for line in lines if line and not line.startswith("#")]
    if not named:
        raise InputError(f"the video list {path} names no videos")
    return named


class IndexWorker:
    """One worker's warm pipeline: ``load`` once, then ``run`` for each of its videos."""

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self.pipeline: Pipeline | None = None

    def load(self) -> None:
        """The models indexing uses: the encoder, and the answerer whose patch encoder builds
        the tokens (the selector is for questions, not for the cache)."""
        pipeline = Pipeline(self.config)
        _ = pipeline.encoder, pipeline.answerer
        self.pipeline = pipeline

    def run(self, video: str) -> dict[str, Any]:
        """The video's outcome record; any failure is recorded, not raised: one bad file in a
        corpus of thousands must not stop the others."""
        if self.pipeline is None:
            self.load()
        frames = 0

        def count(done: int, total: int | None) -> None:
            nonlocal frames
            frames = done

        t0 = time.perf_counter()
        record: dict[str, Any] = {"video": video, "frames": None, "error": None}
        try:
            cached = self.pipeline.index(video, progress=count)  # type: ignore[union-attr]
        except Exception as e:  # any failure: recorded with its type, the run goes on
            record.update(status=FAILED, error=f"{type(e).__name__}: {e}")
        else:
            record.update(status=CACHED if cached else INDEXED, frames=None if cached else frames)
        record.update(
            seconds=time.perf_counter() - t0, worker=f"{socket.gethostname()}:{os.getpid()}"
        )
        return record


@dataclass
class IndexReport:
    """What a run did: one record per video (see ``IndexWorker.run``), in completion order."""

    records: list[dict[str, Any]]
    wall_seconds: float
    workers: int
    where: str  # "local processes" or the Ray address
    ledger: Path
    totals: dict[str, dict[str, float]] = field(init=False)

    def __post_init__(self) -> None:
        self.totals = {
            status: {
                "videos": sum(r["status"] == status for r in self.records),
                "frames": sum(r["frames"] or 0 for r in self.records if r["status"] == status),
                "seconds": sum(r["seconds"] for r in self.records if r["status"] == status),
            }
            for status in (INDEXED, CACHED, FAILED)
        }

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["status"] == FAILED]

    def table(self) -> str:
        rows = [f"{'':<16}{'videos':>8}{'frames':>10}{'seconds':>10}{'errors':>8}"]
        labels = {INDEXED: "indexed", CACHED: "already cached", FAILED: "failed"}
        for status, label in labels.items():
            t = self.totals[status]
            frames = f"{t['frames']:,}" if status == INDEXED else "-"
            errors = t["videos"] if status == FAILED else 0
            rows.append(f"{label:<16}{t['videos']:>8}{frames:>10}{t['seconds']:>10.1f}{errors:>8}")
        built = self.totals[INDEXED]["frames"]
        rows.append(
            f"wall time {self.wall_seconds:.1f} s with {self.workers} worker(s) on "
            f"{self.where}: {built / max(self.wall_seconds, 1e-9):.1f} frames/s"
        )
        for r in self.failed:
            rows.append(f"  {r['video']}: {r['error']}")
        rows.append(f"record: {self.ledger}")
        return "\n".join(rows)


def index_videos(
    videos: list[str],
    config: PipelineConfig,
    *,
    workers: int | None = None,
    ray: str | None = None,
    progress: bool = False,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> IndexReport:
    """Build the cache entries of every video in ``videos`` (absolute paths).

    ``workers``: processes on this machine (default 1), or Ray actors with ``ray`` (an address
    or ``framesift.distributed.LOCAL``; default one per CPU of the cluster). ``on_record``
    sees each outcome as it arrives."""
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    if not config.use_cache:
        raise InputError("index builds the cache; --no-cache would throw the work away")
    if not videos:
        raise InputError("no videos to index")
    ledger = _ledger_path(videos, config)
    t0 = time.perf_counter()
    records: list[dict[str, Any]] = []
    with ExitStack() as stack:
        if ray is None:
            workers = workers or 1
            outcomes = _run_local(videos, config, workers)
            where = "local processes" if workers > 1 else "this process"
        else:
            from framesift.distributed import WorkerPool, cluster_cpus, connect, worker_gpus

            stack.enter_context(connect(ray))
            workers = min(workers or cluster_cpus(), len(videos))
            gpus = worker_gpus(config.device, workers)
            pool = stack.enter_context(WorkerPool(IndexWorker, [config], workers, gpus))
            outcomes = _ray_outcomes(pool, videos)
            where = f"Ray ({ray})"
        bar = stack.enter_context(
            _tqdm()(total=len(videos), unit="video", desc="indexing", disable=not progress)
        )
        ledger.parent.mkdir(parents=True, exist_ok=True)  # once the workers are ready
        log = stack.enter_context(open(ledger, "a", encoding="utf-8"))
        for record in outcomes:
            records.append(record)
            log.write(json.dumps(record) + "\n")
            log.flush()
            bar.update()
            bar.set_postfix(errors=sum(r["status"] == FAILED for r in records), refresh=False)
            if on_record is not None:
                on_record(record)
    return IndexReport(records, time.perf_counter() - t0, workers, where, ledger)


def _tqdm() -> Any:
    from tqdm.auto import tqdm

    return tqdm


def _run_local(videos: list[str], config: PipelineConfig, workers: int) -> Iterator[dict]:
    """In this process for one worker; else ``workers`` processes, one video each at a time.

    A worker process that dies (killed, out of memory) breaks the whole pool, and which video
    killed it cannot be told: a fresh pool tries each video that was in flight again, and a
    video in flight at two deaths is recorded as failed."""
    if workers == 1:
        worker = IndexWorker(config)
        worker.load()
        for video in videos:
            yield worker.run(video)
        return
    todo = list(reversed(videos))
    deaths: Counter[str] = Counter()
    while todo:
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(todo)),
            mp_context=get_context("spawn"),  # a fresh interpreter: no copied threads or models
            initializer=_start_worker,
            initargs=(config,),
        )
        running: dict[Future, str] = {}
        try:
            while todo or running:
                while todo and len(running) < workers:
                    future = pool.submit(_run_in_worker, todo[-1])  # may find the pool broken
                    running[future] = todo.pop()
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                broken = [f for f in done if isinstance(f.exception(), BrokenProcessPool)]
                for future in set(done) - set(broken):
                    del running[future]
                    yield future.result()  # a worker's load error is raised: the run stops
                if broken:
                    raise BrokenProcessPool("a worker process died")
        except BrokenProcessPool:
            for video in running.values():
                deaths[video] += 1
                if deaths[video] > 1:
                    yield _failed(video, WORKER_DIED)
                else:
                    todo.append(video)
        finally:
            pool.shutdown(cancel_futures=True)


def _failed(video: str, error: str) -> dict[str, Any]:
    """The record of a video whose worker failed before it could say anything about it."""
    return {
        "video": video,
        "status": FAILED,
        "frames": None,
        "error": error,
        "seconds": 0.0,
        "worker": None,
    }


WORKER_DIED = "WorkerDied: a worker process died twice while this video was being indexed"


_worker: IndexWorker | None = None
_load_error: FramesiftError | None = None


def _start_worker(config: PipelineConfig) -> None:
    global _worker, _load_error
    _worker = IndexWorker(config)
    try:
        _worker.load()
    except FramesiftError as e:  # raised again with the first video, to stop the run
        _load_error = e


def _run_in_worker(video: str) -> dict[str, Any]:
    if _load_error is not None:
        raise _load_error
    assert _worker is not None
    return _worker.run(video)


def _ray_outcomes(pool: Any, videos: list[str]) -> Iterator[dict[str, Any]]:
    for position, outcome in pool.map_unordered(videos):
        if isinstance(outcome, BaseException):  # the worker failed, not the video
            yield _failed(videos[position], f"{type(outcome).__name__}: {outcome}")
        else:
            yield outcome


def _ledger_path(videos: list[str], config: PipelineConfig) -> Path:
    """One record file per (videos, what they are indexed for): the same arguments append to
    the same file."""
    identity = {
        "videos": sorted(videos),
        "encoder": config.encoder,
        "fps": None if config.frames is not None else config.fps,
        "frames": config.frames,
        "answerer": config.answerer,
        "merge": config.merge,
    }
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    return Pipeline(config).cache_root / LEDGER_FOLDER / f"{key}.jsonl"


def with_patches(config: PipelineConfig) -> PipelineConfig:
    """``config`` that also builds the answerer's patch tokens (the tokens ``--merge`` reads)."""
    return config if config.merge is not None else replace(config, merge="drop")
