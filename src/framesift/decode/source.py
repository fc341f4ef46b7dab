"""Opening a video file and timing its decoded frames: the only place that talks to PyAV.

Every PyAV failure is turned into a framesift error here, so callers never see ``av.error``.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import av

from framesift.errors import VideoDecodeError, VideoNotFoundError

# Timestamps are compared with this tolerance (seconds), so 0.1 * 3 still equals 0.3.
EPS = 1e-6

# Containers whose packets carry presentation times (not just decoding order), so a packet's
# time says which frame it holds before decoding it: only there are frames skipped.
PRESENTATION_TIMED = ("mov", "mp4", "matroska", "webm", "mpegts")

# Packets looked at on either side (in decoding order) to find the next frame's time:
# B-frames are reordered by a few frames, far less than this.
REORDER_WINDOW = 8


@dataclass
class Source:
    """An open container, its first video stream and the clock that times its frames."""

    path: str
    container: av.container.InputContainer
    stream: av.video.stream.VideoStream
    clock: FrameClock
    # unneeded(t, next_t): no candidate is the frame at t if the next frame starts at next_t
    unneeded: Callable[[float, float], bool] | None = None


def check_path(path: str | os.PathLike) -> str:
    """Return ``path`` as a string, or raise ``VideoNotFoundError`` before FFmpeg sees it."""
    p = Path(path)
    if not p.exists():
        raise VideoNotFoundError(f"video not found: {p}; check the path")
    if not p.is_file():
        raise VideoNotFoundError(f"video path is not a file: {p}; pass the path of a video file")
    return str(p)


@contextmanager
def open_video(path: str | os.PathLike, *, threads: bool = True) -> Iterator[Source]:
    """Open ``path`` for decoding its first video stream, with FFmpeg's threaded decoding on
    unless ``threads`` is False (one thread: for processes that each decode part of a file).

    Raises ``VideoNotFoundError`` for a missing path and ``VideoDecodeError`` for a file
    FFmpeg cannot read or one without a video stream; PyAV errors raised while the
    context is open become ``VideoDecodeError`` too.
    """
    import av.error  # imported on first decode: a cached re-ask never loads PyAV

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
        if threads:
            stream.thread_type = "AUTO"
        else:
            stream.thread_count = 1
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

    With ``src.unneeded`` set, a non-reference frame (one no other frame is predicted from)
    that no candidate needs is not decoded at all: its packet's time and the next packet's
    (found among the neighbouring packets, in containers that time packets by presentation)
    say it is not on screen at any target. Reference frames are always decoded, so every
    frame that is returned is exact.
    """
    import av.error

    packets = src.container.demux(src.stream)
    if src.unneeded is not None and _presentation_timed(src):
        packets = _skip_unneeded(src, packets)
    for packet in packets:
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            continue
        for frame in frames:
            yield src.clock.time(frame), frame


def _presentation_timed(src: Source) -> bool:
    return any(name in src.container.format.name.split(",") for name in PRESENTATION_TIMED)


def _skip_unneeded(src: Source, packets: Iterator[av.Packet]) -> Iterator[av.Packet]:
    """The packets, each with the decoder told to drop it if it is an unneeded non-reference
    frame (FFmpeg's ``skip_frame``, read per packet: set before the packet is sent)."""
    codec = src.stream.codec_context
    codec.skip_frame = "DEFAULT"  # a pass left before a seek may have left it on
    ahead: deque[tuple[av.Packet, float | None]] = deque()
    behind: deque[float | None] = deque(maxlen=REORDER_WINDOW)
    skipping = False
    for packet in _with_times(src, packets):
        ahead.append(packet)
        if len(ahead) <= REORDER_WINDOW:
            continue
        skip = _skippable(src, ahead, behind)
        if skip != skipping:
            codec.skip_frame = "NONREF" if skip else "DEFAULT"
            skipping = skip
        current, t = ahead.popleft()
        behind.append(t)
        yield current
    codec.skip_frame = "DEFAULT"
    for current, _ in ahead:  # the last few (and the flush packet): always decoded
        yield current


def _with_times(
    src: Source, packets: Iterator[av.Packet]
) -> Iterator[tuple[av.Packet, float | None]]:
    for packet in packets:
        pts = packet.pts
        yield packet, None if pts is None or not src.clock.time_base else src.clock.seconds(pts)


def _skippable(
    src: Source, ahead: deque[tuple[av.Packet, float | None]], behind: deque[float | None]
) -> bool:
    """Whether the frame of ``ahead[0]`` may be dropped: a frame before it and the next one
    after it are among the neighbours, and no target shows it."""
    t = ahead[0][1]
    if t is None:
        return False
    others = [u for _, u in list(ahead)[1:]] + list(behind)
    later = [u for u in others if u is not None and u > t + EPS]
    earlier = any(u is not None and u < t - EPS for u in others)
    return bool(later) and earlier and src.unneeded(t, min(later))  # type: ignore[misc]


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
        base = self.time_base or Fraction(0)
        self._numerator, self._denominator = base.numerator, base.denominator
        rate = stream.guessed_rate or stream.average_rate
        self.default_duration = float(1 / rate) if rate else 0.0
        self.counted = False
        self._next = 0.0  # where the next frame would start, for counting

    def time(self, frame: av.VideoFrame) -> float:
        ts = frame.pts if frame.pts is not None else frame.dts
        if ts is not None and self.time_base:
            t = self.seconds(ts)
        else:
            self.counted = True
            t = self._next
        self._next = t + (self.duration(frame) or self.default_duration)
        return t

    def duration(self, frame: av.VideoFrame) -> float:
        """How long the frame stays on screen (seconds), 0.0 when the file does not say."""
        if frame.duration and self.time_base:
            return frame.duration * self._numerator / self._denominator
        return 0.0

    def seconds(self, ts: int) -> float:
        """Stream timestamp ``ts`` in seconds since the stream's start: the exact rational,
        rounded once (int / int is correctly rounded, like ``float(Fraction)``, without
        building Fractions for every packet and frame)."""
        return (ts - self.start) * self._numerator / self._denominator
