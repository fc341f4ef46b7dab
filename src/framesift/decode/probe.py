"""What a video claims about itself, read without decoding it (when possible)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from framesift.decode.source import Source, decoded_frames, open_video
from framesift.errors import VideoDecodeError


@dataclass(frozen=True)
class VideoInfo:
    """Metadata of a video's first video stream.

    ``duration`` (seconds) is the best cheap estimate: the stream's stated duration, else
    the container's, else measured by decoding. Stated durations can be wrong (a truncated
    file keeps its header's claim; VFR muxing with B-frames can understate it), so
    ``decode_frames`` trusts decoded timestamps, not this number. ``fps`` is the stream's
    average frame rate and ``frame_count`` its stated frame count, ``None`` when unstated.
    """

    path: str
    duration: float
    codec: str
    width: int
    height: int
    fps: float | None
    frame_count: int | None


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read a video's metadata; decodes only if neither stream nor container state a duration.

    Raises ``VideoNotFoundError`` or ``VideoDecodeError`` (not a video, no video stream).
    """
    with open_video(path) as src:
        stream = src.stream
        rate = stream.average_rate
        return VideoInfo(
            path=src.path,
            duration=_stated_duration(src) or _decoded_duration(src),
            codec=stream.codec_context.name,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=float(rate) if rate and rate > 0 else None,
            frame_count=stream.frames or None,
        )


def _stated_duration(src: Source) -> float | None:
    stream, container = src.stream, src.container
    if stream.duration and stream.duration > 0 and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration and container.duration > 0:
        return container.duration / 1_000_000  # AV_TIME_BASE: microseconds
    return None


def _decoded_duration(src: Source) -> float:
    """End of the last frame: its time plus how long it is shown (else the last frame gap)."""
    times: list[float] = []
    last = None
    for t, frame in decoded_frames(src):
        times.append(t)
        last = frame
    if last is None:
        raise VideoDecodeError(
            f"{src.path} has a video stream but no decodable frames; check the file is complete"
        )
    gap = times[-1] - times[-2] if len(times) > 1 else 0.0
    return times[-1] + (src.clock.duration(last) or src.clock.default_duration or gap)
