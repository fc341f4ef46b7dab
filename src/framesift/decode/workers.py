"""Decoding one long video in several processes, each a stretch of it, delivered in order.

FFmpeg's own threads speed one decoder up little (854x480 H.264 on 2 cores: 1,070 frames/s
with one thread, 1,240 with two) and PyAV holds the GIL while it decodes, so Python threads
do not help either; processes that each decode a stretch with one thread scale with the
cores. The window is cut into stretches of ``CHUNK_SECONDS``, dealt round-robin to the
workers; each worker seeks to its stretch and runs the ordinary reader on it, and the
parent hands the stretches on in order. A worker's output waits in a bounded queue (at most
``QUEUE_BATCHES`` batches), so memory stays flat in the video's length while every worker
keeps decoding ahead of the consumer.

Workers are ``python -m framesift.decode.workers`` subprocesses talking pickle over pipes:
nothing of the parent (threads, loaded models, the caller's ``__main__``) is copied or
re-run, so this is safe from any program, server or notebook.
"""

from __future__ import annotations

import math
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from framesift import errors
from framesift.decode.probe import VideoInfo
from framesift.decode.reader import EPS, EndReport, FrameBatch, batches, candidate_frames
from framesift.decode.resize import Resize
from framesift.decode.sampling import Sampling, Targets
from framesift.decode.source import open_video
from framesift.errors import InputError, VideoDecodeError

# Windows shorter than this decode in the calling process: starting a worker costs ~0.4 s.
PARALLEL_MIN_SECONDS = 300.0
# Length of one stretch. Each starts at the keyframe before it, so about half a GOP (a few
# seconds) is decoded twice per stretch: ~2-4% of 120 s.
CHUNK_SECONDS = 120.0
MAX_WORKERS = 4
QUEUE_BATCHES = 6  # per worker
# Workers run at a lower priority than the process consuming their frames: decoding runs
# ahead into bounded queues, so the consumer (the encoder, a first ask's slowest stage) should
# never wait for a core while a worker fills a queue it cannot yet drain. A 1-hour first ask
# on 2 cores took 60-63 s at equal priority and 52-55 s with workers at niceness 10.
WORKER_NICENESS = 10


def worker_count(info: VideoInfo, sampling: Sampling, workers: int | None) -> int:
    """How many processes decode ``sampling`` of the video: up to ``workers`` (None: one per
    core, at most ``MAX_WORKERS``) for windows of ``PARALLEL_MIN_SECONDS`` or more, one
    stretch each at least; else one. Always one for a file that cannot seek (a raw stream):
    each worker would decode from the start."""
    start, end = sampling.window(info.duration)
    limit = min(os.cpu_count() or 1, MAX_WORKERS) if workers is None else workers
    if limit < 2 or end - start < PARALLEL_MIN_SECONDS or not _seekable(info.path):
        return 1
    return max(1, min(limit, math.ceil((end - start) / CHUNK_SECONDS)))


def _seekable(path: str) -> bool:
    with open_video(path) as src:
        matroska = "matroska" in src.container.format.name
        return matroska or len(src.stream.index_entries) > 1


def stretches(sampling: Sampling, duration: float, count: int) -> list[tuple[float, float]]:
    """``[lo, hi)`` bounds cutting the window into stretches of about ``CHUNK_SECONDS`` (at
    least ``count``); the first starts at -inf and the last ends at +inf, so together they
    hold every target, including any past the stated duration."""
    start, end = sampling.window(duration)
    n = max(count, math.ceil((end - start) / CHUNK_SECONDS))
    edges = [start + i * (end - start) / n for i in range(1, n)]
    return list(zip([-math.inf, *edges], [*edges, math.inf], strict=True))


@dataclass(frozen=True)
class _Job:
    path: str
    pool: Targets
    resizes: tuple[Resize, ...]
    batch_size: int
    stretches: list[tuple[int, float, float]]  # (index, lo, hi)


def decode_in_workers(
    info: VideoInfo,
    sampling: Sampling,
    pool: Targets,
    resizes: tuple[Resize, ...],
    batch_size: int,
    count: int,
) -> Iterator[FrameBatch]:
    """The candidates of ``pool``, decoded by ``count`` worker processes, in order."""
    bounds = stretches(sampling, info.duration, count)
    jobs = [
        _Job(
            info.path,
            pool,
            resizes,
            batch_size,
            [(i, lo, hi) for i, (lo, hi) in enumerate(bounds) if i % count == w],
        )
        for w in range(count)
    ]
    emitted, decodable_end = -math.inf, None
    with _Workers(jobs) as workers:
        for i in range(len(bounds)):
            for kind, *payload in workers.messages(i % count, i):
                if kind == "end":
                    if decodable_end is None and payload[0] is not None:
                        decodable_end = payload[0]
                    continue
                times, views = payload
                keep = times > emitted + EPS  # a frame shown across a stretch edge comes once
                if keep.any():
                    emitted = float(times[keep][-1])
                    kept = {size: pixels[keep] for size, pixels in zip(resizes, views, strict=True)}
                    yield FrameBatch(times[keep], kept[resizes[0]], kept)
    if decodable_end is not None:
        EndReport(info)(decodable_end)
    if emitted == -math.inf:
        raise InputError(
            f"no frames in the sampling window: {info.path} decodes only up to "
            f"{decodable_end or 0.0:.3f} s (its header may claim more); start the window "
            "before that"
        )


class _Workers:
    """Worker processes, each with a thread that moves its messages into a bounded queue."""

    def __init__(self, jobs: list[_Job]) -> None:
        self.jobs = jobs
        self.procs: list[subprocess.Popen] = []
        self.logs: list[IO[bytes]] = []
        self.queues: list[queue.Queue] = []
        self.pumps: list[threading.Thread] = []
        self.stop = threading.Event()

    def __enter__(self) -> _Workers:
        try:
            for job in self.jobs:
                log = tempfile.TemporaryFile()
                proc = subprocess.Popen(
                    [sys.executable, "-m", "framesift.decode.workers"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                )
                self.procs.append(proc)
                self.logs.append(log)
                proc.stdin.write(pickle.dumps(job))  # type: ignore[union-attr]
                proc.stdin.close()  # type: ignore[union-attr]
                q: queue.Queue = queue.Queue(maxsize=QUEUE_BATCHES)
                self.queues.append(q)
                pump = threading.Thread(target=self._pump, args=(proc, q), daemon=True)
                pump.start()
                self.pumps.append(pump)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _pump(self, proc: subprocess.Popen, q: queue.Queue) -> None:
        try:
            while self._put(q, pickle.load(proc.stdout)):  # type: ignore[arg-type]
                pass
        except (EOFError, OSError, ValueError, pickle.UnpicklingError):
            self._put(q, ("eof",))

    def _put(self, q: queue.Queue, message: tuple[Any, ...]) -> bool:
        """Wait for room in ``q``; False once the consumer has stopped."""
        while not self.stop.is_set():
            try:
                q.put(message, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def messages(self, w: int, stretch: int) -> Iterator[tuple[Any, ...]]:
        """Worker ``w``'s messages about ``stretch``, up to and including its "end"."""
        while True:
            message = self.queues[w].get()
            kind = message[0]
            if kind == "eof":
                raise self._failure(w)
            if kind == "error":
                cls = getattr(errors, message[1], VideoDecodeError)
                raise cls(message[2])
            if message[1] != stretch:
                raise VideoDecodeError(f"decoding worker sent stretch {message[1]}, not {stretch}")
            yield (kind, *message[2:])
            if kind == "end":
                return

    def _failure(self, w: int) -> VideoDecodeError:
        code = self.procs[w].wait()
        self.logs[w].seek(0)
        lines = self.logs[w].read().decode(errors="replace").strip().splitlines()
        last = lines[-1] if lines else "no message"
        return VideoDecodeError(
            f"a decoding worker for {self.jobs[w].path} stopped (exit code {code}: {last}); "
            "try again, or decode in one process (workers=1)"
        )

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        for pump in self.pumps:
            pump.join()  # ends at the killed worker's end of output
        for proc, log in zip(self.procs, self.logs, strict=True):
            proc.stdout.close()  # type: ignore[union-attr]
            log.close()


def _work(job: _Job, out: IO[bytes]) -> None:
    """Decode each stretch of ``job`` (one decoding thread), writing its messages to ``out``."""
    for index, lo, hi in job.stretches:
        ends: list[float] = []
        candidates = candidate_frames(
            job.path,
            job.pool.within(lo, hi),
            seek=True,
            on_end=ends.append,
            require_frames=False,
            threads=False,
        )
        for batch in batches(candidates, job.resizes, job.batch_size):
            views = [batch.views[size] for size in job.resizes]
            pickle.dump(("batch", index, batch.times, views), out, pickle.HIGHEST_PROTOCOL)
        pickle.dump(("end", index, ends[0] if ends else None), out)
        out.flush()


def main() -> None:
    """Worker entry point: a pickled ``_Job`` on stdin, pickled messages on stdout."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else printed goes to stderr, never into the message stream
    job = pickle.load(sys.stdin.buffer)
    if hasattr(os, "nice"):  # POSIX
        os.nice(WORKER_NICENESS)
    try:
        _work(job, out)
    except errors.FramesiftError as e:
        pickle.dump(("error", type(e).__name__, str(e)), out)
    except BrokenPipeError:
        return  # the parent stopped reading: it no longer needs the frames
    out.flush()


if __name__ == "__main__":
    main()
