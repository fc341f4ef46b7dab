"""What the server does, without HTTP: warm pipelines over a media library and an index queue.

Models load once; a request may change only the selector (among those that load nothing) and
the budget. Indexing (decode + encode, the slow, question-independent part) runs only in the
index queue's workers; questions run on the caller's thread.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from framesift.errors import FramesiftError, InputError
from framesift.pipeline import Pipeline, PipelineConfig
from framesift.serve.frames import frame_jpegs
from framesift.serve.jobs import IndexQueue, Job
from framesift.serve.library import MediaLibrary, Video

# Selectors a request may choose besides the configured one: none of them loads weights or
# reads a path, so a client cannot make the server load an arbitrary file.
REQUEST_SELECTORS = ("dks", "topk", "uniform", "bolt", "aks")


@dataclass(frozen=True)
class Limits:
    """Bounds on what one request may ask for."""

    body_bytes: int = 64 * 1024
    question_chars: int = 1000
    options: int = 16
    option_chars: int = 300
    budget: int = 128
    request_seconds: float = 120.0  # then an ask answers with its indexing job, or fails
    concurrent_requests: int = 4  # questions, relevance and frames computed at once
    frame_width: int = 1280


class Service:
    def __init__(
        self,
        library: MediaLibrary,
        config: PipelineConfig,
        *,
        index_workers: int = 1,
        queue_capacity: int = 8,
        limits: Limits | None = None,
    ):
        self.library = library
        self.limits = limits or Limits()
        self.pipeline = Pipeline(dataclasses.replace(config, progress=False))
        self.jobs = IndexQueue(workers=index_workers, capacity=queue_capacity)

    def warm(self) -> None:
        """Load every model the configured pipeline needs, before the first request."""
        self.pipeline.load()

    def close(self) -> None:
        self.jobs.close(timeout=5)

    def videos(self) -> list[dict[str, Any]]:
        entries = []
        for video in self.library.videos():
            entry: dict[str, Any] = {"id": video.id, "path": video.path}
            try:
                entry["duration"] = self.library.duration(video)
                entry["indexed"] = self.pipeline.is_indexed(video.file)
            except FramesiftError as exc:
                entry.update(duration=None, indexed=False, error=str(exc))
            entries.append(entry)
        return entries

    def index(self, video: Video, start: float | None = None, end: float | None = None) -> Job:
        """The job that puts ``video``'s features in the cache, finished already if they are."""
        return self.pending_index(video, start, end) or self.jobs.finished_job(video.path)

    def pending_index(
        self, video: Video, start: float | None = None, end: float | None = None
    ) -> Job | None:
        """None if ``video`` (that window of it) is indexed, else its indexing job: the one
        queued or running for the same video and window, or a new one."""
        _check_window(start, end)
        if self.pipeline.is_indexed(video.file, start=start, end=end):
            return None

        def work(progress) -> None:
            self.pipeline.index(video.file, start=start, end=end, progress=progress)

        return self.jobs.submit((video.file, start, end), video.path, work)

    def ask(
        self,
        video: Video,
        question: str,
        options: list[str] | None = None,
        *,
        selector: str | None = None,
        budget: int | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> dict[str, Any]:
        """``framesift ask --json``'s object, with the video's path relative to the root."""
        self.check_question(question, options)
        self.check_choice(selector, budget)
        result = self.pipeline.ask(
            video.file, question, options, start=start, end=end, selector=selector, budget=budget
        ).to_dict()
        result["video"] = video.path
        return result

    def relevance(
        self, video: Video, text: str, start: float | None = None, end: float | None = None
    ) -> dict[str, list[float]]:
        self.check_question(text, None)
        times, scores = self.pipeline.relevance(video.file, text, start=start, end=end)
        return {"times": times.tolist(), "scores": scores.tolist()}

    def frame(self, video: Video, time: float, width: int) -> bytes:
        if not 0 <= time < float("inf"):
            raise InputError(f"t must be a time in seconds, 0 or more, got {time}")
        if not 16 <= width <= self.limits.frame_width:
            raise InputError(f"w must be between 16 and {self.limits.frame_width}, got {width}")
        return frame_jpegs(video.file, [time], width)[0]

    def check_choice(self, selector: str | None, budget: int | None) -> None:
        """A request may pick a selector from ``REQUEST_SELECTORS`` and a bounded budget."""
        offered = tuple(dict.fromkeys((*REQUEST_SELECTORS, self.pipeline.config.selector)))
        if selector is not None and selector not in offered:
            raise InputError(
                f"selector {selector!r} is not offered here; choose one of {', '.join(offered)}"
            )
        if budget is not None and not 1 <= budget <= self.limits.budget:
            raise InputError(f"budget must be between 1 and {self.limits.budget}, got {budget}")

    def check_question(self, question: str, options: list[str] | None) -> None:
        limits = self.limits
        if len(question) > limits.question_chars:
            raise InputError(
                f"the question has {len(question)} characters; at most {limits.question_chars}"
            )
        if options is not None:
            if len(options) > limits.options:
                raise InputError(f"{len(options)} options given; at most {limits.options}")
            if any(len(o) > limits.option_chars for o in options):
                raise InputError(f"an option is longer than {limits.option_chars} characters")


def _check_window(start: float | None, end: float | None) -> None:
    if start is not None and start < 0:
        raise InputError(f"start must be 0 or more seconds, got {start}")
    if start is not None and end is not None and end <= start:
        raise InputError(f"end ({end}) must come after start ({start})")
