"""Shared test helpers: synthetic videos written with PyAV into tmp_path (never committed).

Other test files can import the plain functions (``from conftest import make_video``) or use
the fixtures. Frames written by ``index_frame`` carry their own index as black/white
stripes, which survive lossy codecs and resizing, so a test can read back which frame it got.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

# Real sample videos and photos kept in the repository (origin and licence: assets/README.md).
MEDIA_DIR = Path(__file__).resolve().parent / "assets"

INDEX_BITS = 8  # frames 0..255 can be told apart
STRIPE = 16  # pixels per bit: one macroblock, so codecs keep the stripes crisp


def index_frame(k: int, width: int = INDEX_BITS * STRIPE, height: int = 48) -> np.ndarray:
    """(height, width, 3) uint8 RGB frame whose vertical stripes spell ``k`` in binary."""
    assert 0 <= k < 2**INDEX_BITS, f"index {k} does not fit in {INDEX_BITS} bits"
    bits = [(k >> b) & 1 for b in range(INDEX_BITS)]  # least significant bit on the left
    columns = np.repeat(np.where(bits, 235, 20), -(-width // INDEX_BITS))[:width]
    return np.broadcast_to(columns[None, :, None], (height, width, 3)).astype(np.uint8)


def read_index(pixels: np.ndarray) -> int:
    """Index spelled by an ``index_frame`` (any size, squashed or not), from (H, W, 3) pixels."""
    grey = pixels.astype(np.float64).mean(axis=(0, 2))  # (W,)
    stripes = np.array_split(grey, INDEX_BITS)
    bits = [int(s[len(s) // 4 : len(s) - len(s) // 4].mean() > 128) for s in stripes]
    return sum(bit << b for b, bit in enumerate(bits))


def read_indices(pixels: np.ndarray) -> list[int]:
    """``read_index`` of every frame of a (B, H, W, 3) batch."""
    return [read_index(p) for p in pixels]


def make_video(
    path: str | os.PathLike,
    frames: Sequence[np.ndarray] | np.ndarray,
    times: Sequence[float] | None = None,
    *,
    fps: float | Fraction = 10,
    codec: str = "libx264",
    time_base: Fraction | None = None,
    rate: float | Fraction | None = None,
    gop: int | None = None,
    options: dict[str, str] | None = None,
    container_format: str | None = None,
) -> Path:
    """Write RGB ``frames`` to ``path`` (container chosen by extension or ``container_format``).

    ``times`` (seconds, increasing) places each frame, so variable frame rates are possible;
    by default frame k is at k / fps. ``time_base`` (default 1/1000 s, or 1/fps for constant
    rate) is what pts are counted in; the muxer may rescale it. ``rate`` is the frame rate
    written as metadata: by default ``fps`` when ``times`` is None, else none at all
    (framerate 0, so e.g. Matroska states no rate). ``gop`` is the keyframe interval in
    frames; ``options`` go to the encoder (e.g. ``{"bf": "0"}`` for no B-frames).
    """
    frames = list(frames)
    fps = Fraction(fps).limit_denominator(10**6)
    if times is None:
        times = [k / fps for k in range(len(frames))]
        time_base = time_base or 1 / fps
        rate = fps if rate is None else rate
    time_base = time_base or Fraction(1, 1000)
    height, width = frames[0].shape[:2]
    container = av.open(str(path), "w", format=container_format)
    stream = container.add_stream(codec, options=options or {})
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.time_base = time_base
    stream.codec_context.time_base = time_base
    stream.codec_context.framerate = Fraction(rate or 0).limit_denominator(10**6)
    if gop is not None:
        stream.codec_context.gop_size = gop
    packets = []
    for rgb, t in zip(frames, times, strict=True):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = round(Fraction(t).limit_denominator(10**9) / time_base)
        frame.time_base = time_base
        packets += stream.encode(frame)
    packets += stream.encode()
    # Encoders leave the last frame's duration 0, and MP4 edit lists then drop that frame:
    # give it the previous frame gap (or 1 / fps), as a camera would.
    last = max(packets, key=lambda p: p.pts)
    if not last.duration:
        gap = times[-1] - times[-2] if len(times) > 1 else 1 / fps
        last.duration = max(1, round(Fraction(gap).limit_denominator(10**9) / last.time_base))
    container.mux(packets)
    container.close()
    return Path(path)


def make_indexed_video(path: str | os.PathLike, n: int, times=None, **kwargs) -> Path:
    """``make_video`` of ``n`` frames where frame k is ``index_frame(k)``."""
    return make_video(path, [index_frame(k) for k in range(n)], times, **kwargs)


def make_audio(path: str | os.PathLike, seconds: float = 1.0, codec: str | None = None) -> Path:
    """An audio-only file (a 440 Hz tone); codec defaults to what the extension suggests."""
    codec = codec or {".wav": "pcm_s16le", ".mp3": "libmp3lame"}.get(Path(path).suffix, "aac")
    rate = 44100
    container = av.open(str(path), "w")
    stream = container.add_stream(codec, rate=rate, layout="mono")
    fmt = stream.codec_context.format.name  # e.g. s16 for WAV, s32p or fltp for MP3
    samples = stream.codec_context.frame_size or 1024
    tone = 0.1 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate)
    for i in range(0, len(tone), samples):
        chunk = tone[None, i : i + samples]  # (channels, samples)
        if fmt.startswith("s16"):
            data = (chunk * 2**15).astype(np.int16)
        elif fmt.startswith("s32"):
            data = (chunk * 2**31).astype(np.int32)
        else:
            data = chunk.astype(np.float32)
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
        frame.sample_rate, frame.pts = rate, i
        container.mux(stream.encode(frame))
    container.mux(stream.encode())
    container.close()
    return Path(path)


@pytest.fixture
def media_dir() -> Path:
    """The folder of real sample media (vtest.avi, tree.avi, photos) shipped with the tests."""
    return MEDIA_DIR


@pytest.fixture(scope="session")
def cfr_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s H.264 MP4 at 10 fps (with B-frames, keyframe every 1 s); frame k shows index k."""
    path = tmp_path_factory.mktemp("videos") / "cfr.mp4"
    return make_indexed_video(path, 100, fps=10, gop=10)
