"""Decoding the candidate frames of a video, in batches, by one pass or by seeking.

The reader does the least decoding that still returns exactly the frame on screen at each
target: it seeks over stretches with no target, skips non-reference frames that no target
shows (nothing else depends on them), and splits a long file across processes
(``framesift.decode.workers``). Every returned frame carries its own presentation time.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import av

from framesift.decode.probe import VideoInfo, probe
from framesift.decode.resize import Resize, to_rgb
from framesift.decode.sampling import Targets, at_times
from framesift.decode.source import EPS, Source, decoded_frames, open_video
from framesift.errors import InputError, VideoDecodeError

log = logging.getLogger(__name__)

Strategy = Literal["auto", "sequential", "seek"]

# Targets this many seconds apart are worth a seek when nothing better is known. Seeking
# restarts decoding at the keyframe before a target, so it pays once targets are further
# apart than keyframes (typically 2-10 s). "auto" seeks for pools at least this sparse; the
# seek strategy uses it for the distance to the next target when the demuxer has no index.
# Measured (5 min 640x360 H.264, 2 cores): equal at 1 s spacing, seek 1.7x-4.7x faster at 5 s.
SEEK_SPACING = 5.0

# A stream that ends before this fraction of its stated duration (and over a second short of
# it) is reported as truncated: its answers only cover the decodable part.
TRUNCATED_FRACTION = 0.9


@dataclass
class FrameBatch:
    """Consecutive candidate frames.

    ``times``: (B,) float64, each frame's presentation time in seconds since the stream
    start. ``pixels``: (B, H, W, 3) uint8 RGB at the (first) size asked for. ``views``: the
    same frames at every size asked for, when several were (one decode, several consumers).
    """

    times: np.ndarray
    pixels: np.ndarray
    views: dict[Resize, np.ndarray] = field(default_factory=dict)

    def at(self, resize: Resize) -> np.ndarray:
        """(B, H, W, 3) the frames at ``resize``, one of the sizes asked of the decoder."""
        if resize not in self.views:
            raise KeyError(f"frames were not decoded at {resize}; ask the decoder for it")
        return self.views[resize]


def decode_at(
    path: str | os.PathLike, times: np.ndarray, resize: Resize, *, batch_size: int = 32
) -> Iterator[FrameBatch]:
    """The frames on screen at ``times`` (seconds, increasing), in batches, in this process.

    For re-reading a known candidate pool (its ``times``): a target equal to a frame's time
    gives exactly that frame; the strategy follows the spacing, as "auto" does.
    """
    info = probe(path)
    times = np.asarray(times, dtype=np.float64)
    spacing = (times[-1] - times[0]) / max(len(times) - 1, 1) if len(times) else 0.0
    candidates = candidate_frames(info.path, at_times(times), spacing >= SEEK_SPACING)
    return batches(candidates, (resize,), batch_size)


def resize_list(resize: Resize | Sequence[Resize]) -> tuple[Resize, ...]:
    sizes = (resize,) if isinstance(resize, Resize) else tuple(dict.fromkeys(resize))
    if not sizes or not all(isinstance(r, Resize) for r in sizes):
        raise InputError(f"resize must be a Resize or a list of them, got {resize!r}")
    return sizes


def batches(
    candidates: Iterable[tuple[float, av.VideoFrame]],
    resizes: tuple[Resize, ...],
    batch_size: int,
) -> Iterator[FrameBatch]:
    """Candidates converted to RGB at every size in ``resizes``, ``batch_size`` at a time."""
    times: list[float] = []
    pixels: list[list[np.ndarray]] = [[] for _ in resizes]
    for t, frame in candidates:
        times.append(t)
        for size, out in zip(resizes, pixels, strict=True):
            out.append(to_rgb(frame, size))  # (H, W, 3), only for kept frames
        if len(times) == batch_size:
            yield _batch(times, pixels, resizes)
            times, pixels = [], [[] for _ in resizes]
    if times:
        yield _batch(times, pixels, resizes)


def _batch(
    times: list[float], pixels: list[list[np.ndarray]], resizes: tuple[Resize, ...]
) -> FrameBatch:
    views = {size: np.stack(p) for size, p in zip(resizes, pixels, strict=True)}
    return FrameBatch(np.array(times, dtype=np.float64), views[resizes[0]], views)


class EndReport:
    """Called with the end of the last decodable frame when a stream runs out; logs a
    truncated file once (its answers only cover the part that decodes)."""

    def __init__(self, info: VideoInfo) -> None:
        self.info = info

    def __call__(self, decodable_end: float) -> None:
        stated = self.info.duration
        if decodable_end < TRUNCATED_FRACTION * stated and stated - decodable_end > 1.0:
            log.warning(
                "%s: only %.1f s of its stated %.1f s could be decoded (the file looks "
                "truncated); its candidate frames stop there",
                self.info.path,
                decodable_end,
                stated,
            )


class _SeekFailed(Exception):
    """A seek was refused or landed after its target; ``target`` is still unanswered."""

    def __init__(self, target: float) -> None:
        super().__init__(target)
        self.target = target


def candidate_frames(
    path: str,
    pool: Targets,
    seek: bool,
    *,
    on_end: Callable[[float], None] | None = None,
    require_frames: bool = True,
    threads: bool = True,
) -> Iterator[tuple[float, av.VideoFrame]]:
    """``(time, frame)`` of each distinct candidate; seeks if asked, and if seeking fails,
    answers the remaining targets in one pass from the start. ``on_end`` hears where the
    stream ran out, if it did; ``require_frames``: an empty window is an ``InputError``;
    ``threads``: FFmpeg's own decoding threads (off in worker processes)."""
    emitted = -math.inf
    scan = _Scan(path, on_end, require_frames, threads)
    if seek:
        try:
            for t, frame in scan(pool, seek=True, after=emitted):
                emitted = t
                yield t, frame
            return
        except _SeekFailed as failed:
            pool = pool.within(failed.target, math.inf)
    yield from scan(pool, seek=False, after=emitted)


@dataclass
class _Scan:
    path: str
    on_end: Callable[[float], None] | None
    require_frames: bool
    threads: bool

    def __call__(
        self, pool: Targets, *, seek: bool, after: float
    ) -> Iterator[tuple[float, av.VideoFrame]]:
        """Yield ``(time, frame)`` for each distinct frame on screen at a target, after
        ``after``.

        Keeps two decoded frames: ``prev``, the last one at or before the current target,
        and ``ahead``, the one after it; memory does not grow with the video. Targets are
        searched, not enumerated: after answering one, the next is the first target the
        next frame could answer, so dense pools cost one lookup per frame.
        """
        with open_video(self.path, threads=self.threads) as src:

            def unneeded(t: float, next_t: float) -> bool:
                """No target shows the frame at ``t`` if the next one starts at ``next_t``."""
                target = pool.first_at_or_after(t - EPS)
                return target is None or target >= next_t - EPS

            src.unneeded = unneeded
            frames = decoded_frames(src)
            prev: tuple[float, av.VideoFrame] | None = None
            ahead = next(frames, None)
            if ahead is None:
                raise VideoDecodeError(
                    f"{self.path} has a video stream but no decodable frames; check the file "
                    "is complete"
                )
            gap = 0.0  # between the last two frames, for the last frame's duration if unstated
            emitted = after
            target = pool.first_at_or_after(-math.inf)
            while target is not None:
                if seek and _worth_seeking(src, ahead, target):
                    frames.close()
                    frames = _seek(src, target)
                    prev, ahead = None, next(frames, None)
                    if ahead is None or src.clock.counted or ahead[0] > target + EPS:
                        raise _SeekFailed(target)
                while ahead is not None and ahead[0] <= target + EPS:
                    if prev is not None:
                        gap = ahead[0] - prev[0]
                    prev, ahead = ahead, next(frames, None)
                if prev is None:  # target before the first frame: show the first frame
                    candidate = ahead
                elif ahead is None and target >= prev[0] + _shown_for(src, prev[1], gap) - EPS:
                    break  # past the end of the last frame, so are all later targets
                else:
                    candidate = prev
                if candidate[0] > emitted + EPS:
                    emitted = candidate[0]
                    yield candidate
                if ahead is None:
                    break  # later targets show the last frame again or come after its end
                # targets before the next frame would show the candidate again: skip them
                target = pool.first_at_or_after(
                    max(math.nextafter(target, math.inf), ahead[0] - EPS)
                )
            if ahead is None and prev is not None and self.on_end is not None:
                self.on_end(prev[0] + _shown_for(src, prev[1], gap))
            if emitted == -math.inf and self.require_frames:
                last = prev[0] if prev is not None else 0.0
                raise InputError(
                    f"no frames in the sampling window: the last decodable frame of {self.path} "
                    f"is at {last:.3f} s (its header may claim more); start the window before that"
                )


def _shown_for(src: Source, frame: av.VideoFrame, gap: float) -> float:
    return src.clock.duration(frame) or gap or src.clock.default_duration


def _worth_seeking(src: Source, ahead: tuple[float, av.VideoFrame] | None, target: float) -> bool:
    """Seek when it skips decoding: the keyframe before ``target`` lies past ``ahead``.

    Trusts the demuxer's keyframe index when it reaches the target (AVI, MP4 from the start,
    Matroska once its cues are read by a first seek); otherwise seeks to targets at least
    ``SEEK_SPACING`` s ahead.
    """
    if ahead is None or src.clock.counted or ahead[0] > target + EPS:
        return False
    index, pts = src.stream.index_entries, _to_pts(src, target)
    if len(index) > 1 and index[len(index) - 1].timestamp >= pts:
        i = index.search_timestamp(pts, backward=True)
        if i < 0:
            return False
        keyframe = src.clock.seconds(index[i].timestamp)
        return keyframe > ahead[0] + EPS
    return target - ahead[0] >= SEEK_SPACING


def _seek(src: Source, target: float) -> Iterator[tuple[float, av.VideoFrame]]:
    import av.error

    try:
        src.container.seek(_to_pts(src, target), stream=src.stream, backward=True)
    except av.error.FFmpegError as e:
        raise _SeekFailed(target) from e
    return decoded_frames(src)


def _to_pts(src: Source, t: float) -> int:
    return src.clock.start + math.floor(t / src.stream.time_base + EPS)
