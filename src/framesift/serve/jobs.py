"""Indexing jobs: a bounded queue served by a fixed number of worker threads.

Encoding a long video takes minutes, so it never runs on a request thread: requests submit a
job and follow it. Jobs with the same key (one video, one window) share one run while it is
queued or running, so two clients asking about the same new video encode it once.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

from framesift.errors import FramesiftError

log = logging.getLogger(__name__)

JobState = Literal["queued", "running", "done", "failed"]
Progress = Callable[[int, int | None], None]


class QueueFullError(FramesiftError):
    """Too many indexing jobs are waiting; the client should retry later."""


@dataclass
class Job:
    id: str
    video: str
    state: JobState = "queued"
    progress: float = 0.0  # 0..1; stays below 1 until the job is done
    error: str | None = None
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.id,
            "video": self.video,
            "state": self.state,
            "progress": self.progress,
            "error": self.error,
        }

    def report(self, done: int, total: int | None) -> None:
        """The indexer's progress callback: frames encoded so far out of about ``total``."""
        if total:
            self.progress = min(done / total, 0.99)


class IndexQueue:
    def __init__(self, workers: int = 1, capacity: int = 8, history: int = 256):
        """``capacity`` bounds the jobs queued or running; ``history`` the finished ones kept."""
        if workers < 1 or capacity < 1:
            raise ValueError("an index queue needs at least one worker and one slot")
        self.capacity, self.history = capacity, history
        self._lock = threading.Lock()
        self._active: dict[Hashable, Job] = {}
        self._jobs: dict[str, Job] = {}  # insertion order = submission order
        self._queue: queue.Queue[tuple[Hashable, Job, Callable[[Progress], Any]] | None] = (
            queue.Queue()
        )
        self._workers = [
            threading.Thread(target=self._work, name=f"framesift-index-{i}", daemon=True)
            for i in range(workers)
        ]
        for worker in self._workers:
            worker.start()

    def submit(self, key: Hashable, video: str, work: Callable[[Progress], Any]) -> Job:
        """The job for ``key``: the one already queued or running, else a new one running
        ``work(progress)``. Raises ``QueueFullError`` when ``capacity`` jobs are pending."""
        with self._lock:
            job = self._active.get(key)
            if job is not None:
                return job
            if len(self._active) >= self.capacity:
                raise QueueFullError(
                    f"{self.capacity} videos are already waiting to be indexed; try again later"
                )
            job = Job(id=secrets.token_hex(8), video=video)
            self._active[key] = job
            self._jobs[job.id] = job
            self._forget_old()
        self._queue.put((key, job, work))
        return job

    def finished_job(self, video: str) -> Job:
        """A job that is already done: for a video whose index is in the cache."""
        job = Job(id=secrets.token_hex(8), video=video, state="done", progress=1.0)
        job.finished.set()
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def close(self, timeout: float | None = None) -> None:
        """Finish the jobs already taken, drop the queued ones, stop the workers."""
        with self._lock:
            for key, job, _ in _drain(self._queue):
                self._end(key, job, "failed", "the server stopped before indexing started")
        for _ in self._workers:
            self._queue.put(None)
        deadline = None if timeout is None else time.monotonic() + timeout
        for worker in self._workers:
            worker.join(None if deadline is None else max(deadline - time.monotonic(), 0))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            key, job, work = item
            job.state = "running"
            try:
                work(job.report)
            except FramesiftError as exc:
                with self._lock:
                    self._end(key, job, "failed", str(exc))
            except Exception as exc:  # a bug or a resource error: the worker must survive it
                log.exception("indexing %s failed", job.video)
                with self._lock:
                    self._end(key, job, "failed", f"indexing failed ({type(exc).__name__})")
            else:
                with self._lock:
                    self._end(key, job, "done", None)

    def _end(self, key: Hashable, job: Job, state: JobState, error: str | None) -> None:
        """Called with the lock held."""
        job.error = error
        if state == "done":
            job.progress = 1.0
        job.state = state
        self._active.pop(key, None)
        job.finished.set()

    def _forget_old(self) -> None:
        """Called with the lock held: drop the oldest finished jobs beyond ``history``."""
        finished = [j.id for j in self._jobs.values() if j.finished.is_set()]
        for job_id in finished[: max(len(finished) - self.history, 0)]:
            del self._jobs[job_id]


def _drain(q: queue.Queue) -> list:
    items = []
    while True:
        try:
            item = q.get_nowait()
        except queue.Empty:
            return items
        if item is not None:
            items.append(item)
