"""Write videos from frames: the demo's needle videos and locally generated test footage.

Generated videos are built on the fly and never shipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction

import numpy as np
from PIL import Image


def write_video(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    fps: float,
    codec: str = "libx264",
    *,
    crf: int = 23,
    preset: str = "veryfast",
) -> None:
    """Encode (H, W, 3) uint8 RGB frames at a constant ``fps`` (H and W even for H.264)."""
    import av

    with av.open(str(path), "w") as container:
        stream = None
        for frame in frames:
            if stream is None:
                stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
                stream.height, stream.width = frame.shape[:2]
                stream.pix_fmt = "yuv420p"
                if codec == "libx264":
                    stream.options = {"crf": str(crf), "preset": preset}
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        if stream is not None:
            container.mux(stream.encode())


def fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Letterbox ``image`` (grey or RGB) into width x height RGB, keeping its aspect ratio."""
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    pil = Image.fromarray(image[..., :3].astype(np.uint8))
    scale = min(width / pil.width, height / pil.height)
    pil = pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))))
    canvas = np.zeros((height, width, 3), np.uint8)
    top, left = (height - pil.height) // 2, (width - pil.width) // 2
    canvas[top : top + pil.height, left : left + pil.width] = np.asarray(pil)
    return canvas


def pan(image: np.ndarray, width: int, height: int, steps: int) -> Iterable[np.ndarray]:
    """A slow camera pan across ``image``: ``steps`` frames of a sliding window (footage)."""
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = image[..., :3]
    scale = max(height / image.shape[0], (width * 1.5) / image.shape[1])
    pil = Image.fromarray(image.astype(np.uint8))
    big = np.asarray(pil.resize((round(pil.width * scale), round(pil.height * scale))))
    span_x, span_y = big.shape[1] - width, big.shape[0] - height
    for i in range(steps):
        t = i / max(steps - 1, 1)
        x, y = round(t * span_x), round(t * span_y)
        yield big[y : y + height, x : x + width]
