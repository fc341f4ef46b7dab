"""Frames of a video as JPEG images: the page's thumbnails and frame endpoint, the report's."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

import numpy as np
from PIL import Image

from framesift.decode import Resize, decode_at, probe
from framesift.errors import InputError


def frame_jpegs(
    video: str | os.PathLike, times: Sequence[float], width: int, *, quality: int = 85
) -> list[bytes]:
    """One JPEG per time (seconds, increasing, distinct frames), ``width`` pixels wide with the
    video's aspect ratio. Raises ``InputError`` for a time after the last frame."""
    if not len(times):
        return []
    info = probe(video)
    height = max(2, round(width * info.height / max(info.width, 1) / 2) * 2)
    images = [
        _jpeg(pixels, quality)
        for batch in decode_at(video, np.asarray(times, dtype=np.float64), Resize(width, height))
        for pixels in batch.pixels
    ]
    if len(images) != len(times):
        raise InputError(
            f"no frame at {max(times):.3f} s: the video's last frame comes earlier "
            f"(it lasts about {info.duration:.3f} s)"
        )
    return images


def _jpeg(pixels: np.ndarray, quality: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=quality)
    return out.getvalue()
