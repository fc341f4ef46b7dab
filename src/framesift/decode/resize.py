"""Turning a decoded frame into the RGB array an encoder expects."""

from __future__ import annotations

import numbers
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import av

from framesift.errors import InputError, VideoDecodeError


@dataclass(frozen=True)
class Resize:
    """Output frame size.

    ``crop=False`` squashes the whole frame to ``width`` x ``height`` (nothing lost, aspect
    changed); ``crop=True`` scales the shorter side to fit and centre-crops the rest, as
    CLIP-style image processors do.
    """

    width: int
    height: int
    crop: bool = False

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise InputError(f"Resize {name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))


def to_rgb(frame: av.VideoFrame, resize: Resize) -> np.ndarray:
    """(H, W, 3) uint8 RGB of ``frame`` at ``resize``'s size; swscale does the scaling."""
    import av.error

    try:
        if not resize.crop:
            return _rgb(frame, resize.width, resize.height)
        scale = max(resize.width / frame.width, resize.height / frame.height)
        w = max(resize.width, round(frame.width * scale))
        h = max(resize.height, round(frame.height * scale))
        rgb = _rgb(frame, w, h)  # (h, w, 3), covers the target box
    except av.error.FFmpegError as e:
        raise VideoDecodeError(
            f"cannot convert a {frame.width}x{frame.height} {frame.format.name} frame to RGB "
            f"({e}); try re-encoding the video"
        ) from e
    y0, x0 = (h - resize.height) // 2, (w - resize.width) // 2
    return np.ascontiguousarray(rgb[y0 : y0 + resize.height, x0 : x0 + resize.width])


def _rgb(frame: av.VideoFrame, width: int, height: int) -> np.ndarray:
    """One reformatter per thread keeps its swscale context from frame to frame, where
    ``frame.reformat`` builds a new one per call: an 854x480 frame to 224x224 RGB took 1.2 ms
    instead of 2.5 (the same pixels)."""
    reformatter = getattr(_reformatters, "current", None)
    if reformatter is None:
        from av.video.reformatter import VideoReformatter

        reformatter = _reformatters.current = VideoReformatter()
    return reformatter.reformat(frame, width=width, height=height, format="rgb24").to_ndarray()


_reformatters = threading.local()
