"""Opening a video file and timing its decoded frames: the only place that talks to PyAV.

Every PyAV failure is turned into a framesift error here, so callers never see ``av.error``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error

from framesift.errors import VideoDecodeError, VideoNotFoundError

# Timestamps are compared with this tolerance (seconds), so 0.1 * 3 still equals 0.3.
EPS = 1e-6


@dataclass
class Source:
    """An open container, its first video stream and the clock that times its frames."""

    path: str
    container: av.container.InputContainer
    stream: av.video.stream.VideoStream
    clock: FrameClock


def check_path(path: str | os.PathLike) -> str:
    """Return ``path`` as a string, or raise ``VideoNotFoundError`` before FFmpeg sees it."""
    p = Path(path)
    if not p.exists():
        raise VideoNotFoundError(f"video not found: {p}; check the path")
    if not p.is_file():
        raise VideoNotFoundError(f"video path is not a file: {p}; pass the path of a video file")
    return str(p)


@contextmanager
def open_video(path: str | os.PathLike) -> Iterator[Source]:
    """Open ``path`` for decoding its first video stream, with threaded decoding on.

    Raises ``VideoNotFoundError`` for a missing path and ``VideoDecodeError`` for a file
    FFmpeg cannot read or one without a video stream; PyAV errors raised while the
    context is open become ``VideoDecodeError`` too.
    """
    name = check_path(path)
    try:
        container = av.open(name, metadata_errors="ignore")
    except av.error.FFmpegError as e:
        raise VideoDecodeError(
            f"{name} is not a media file FFmpeg can read ({_reason(e)}); "
            "check that it is a complete, uncorrupted video"
        ) from e
    try:
        if not container.streams.video:
            raise VideoDecodeError(
                f"{name} has no video stream (only {_stream_kinds(container)}); pass a video file"
            )
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        yield Source(name, container, stream, FrameClock(stream))
    except av.error.FFmpegError as e:
        raise VideoDecodeError(
            f"decoding {name} failed ({_reason(e)}); the file may be corrupt, try re-encoding it"
        ) from e
    finally:
        container.close()


def _reason(e: av.error.FFmpegError) -> str:
    return e.strerror or str(e)


def _stream_kinds(container: av.container.InputContainer) -> str:
    kinds = sorted({s.type for s in container.streams})
    return ", ".join(f"{k} streams" for k in kinds) or "no streams"


def decoded_frames(src: Source) -> Iterator[tuple[float, av.VideoFrame]]:
    """Yield ``(seconds, frame)`` in decoding order from the container's current position.

    A damaged packet is skipped, as players do, so a truncated file still gives the frames
    before the damage. Start a new iterator after every seek: frames already decoded
    from one packet would otherwise come out after the jump.
    """
    for packet in src.container.demux(src.stream):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            continue
        for frame in frames:
            yield src.clock.time(frame), frame


class FrameClock:
    """Turns a decoded frame into seconds since the start of its stream.

    Uses the frame's pts times the stream's time_base (minus the stream's start_time), which
    is right for variable frame rates and needs no frame-rate metadata; falls back to dts,
    then to counting frames (adding each frame's duration, else 1 / frame rate) for raw
    streams without timestamps. ``counted`` records that a fallback time was handed out:
    such times are only valid when decoding from the start, so seeking must be avoided.
    """

    def __init__(self, stream: av.video.stream.VideoStream) -> None:
        self.time_base: Fraction | None = stream.time_base
        self.start = stream.start_time or 0
        rate = stream.guessed_rate or stream.average_rate
        self.default_duration = float(1 / rate) if rate else 0.0
        self.counted = False
        self._next = 0.0  # where the next frame would start, for counting

    def time(self, frame: av.VideoFrame) -> float:
        ts = frame.pts if frame.pts is not None else frame.dts
        if ts is not None and self.time_base:
            t = float((ts - self.start) * self.time_base)
        else:
            self.counted = True
            t = self._next
        self._next = t + (self.duration(frame) or self.default_duration)
        return t

    def duration(self, frame: av.VideoFrame) -> float:
        """How long the frame stays on screen (seconds), 0.0 when the file does not say."""
        if frame.duration and self.time_base:
            return float(frame.duration * self.time_base)
        return 0.0
