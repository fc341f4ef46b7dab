"""Turning a decoded frame into the RGB array an encoder expects."""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

from framesift.errors import InputError


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
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"Resize {name} must be a positive integer, got {value!r}")


def to_rgb(frame: av.VideoFrame, resize: Resize) -> np.ndarray:
    """(H, W, 3) uint8 RGB of ``frame`` at ``resize``'s size; swscale does the scaling."""
    if not resize.crop:
        return frame.reformat(width=resize.width, height=resize.height, format="rgb24").to_ndarray()
    scale = max(resize.width / frame.width, resize.height / frame.height)
    w = max(resize.width, round(frame.width * scale))
    h = max(resize.height, round(frame.height * scale))
    rgb = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()  # (h, w, 3)
    y0, x0 = (h - resize.height) // 2, (w - resize.width) // 2
    return np.ascontiguousarray(rgb[y0 : y0 + resize.height, x0 : x0 + resize.width])
