"""What the pipeline asks of a video: its candidate features, patch tokens and pixels.

A ``VideoSource`` is a video file (``VideoFile``) or anything that can stand for one: the
evaluation harness composes needle-in-a-haystack videos from cached footage features and a
needle's frames, without writing a video, and asks about them through the same pipeline.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from framesift.cache import Cache, Extraction, extract, is_cached
from framesift.decode import FrameBatch, Resize, Sampling, decode_at
from framesift.encode import Encoder, PatchEncoder
from framesift.errors import InputError
from framesift.select import FrameReader

Progress = bool | Callable[[int, int | None], None]


# A candidate time must name its frame: the frame re-decoded for it may start at most this much
# earlier (rounded times); real frames last far longer (1 ms is 1000 fps).
TIME_TOLERANCE = 1e-3


class VideoSource(Protocol):
    """``name``: how results refer to it (a path for files). ``reuse_threshold``: the change
    detector's threshold (``framesift.cache.extract``), None to encode every candidate."""

    name: str

    def extract(
        self,
        sampling: Sampling,
        encoder: Encoder,
        cache: Cache | None,
        *,
        patch_encoder: PatchEncoder | None = None,
        progress: Progress = False,
        reuse_threshold: float | None = None,
    ) -> Extraction: ...

    def is_extracted(
        self,
        sampling: Sampling,
        encoder: Encoder,
        cache: Cache | None,
        *,
        patch_encoder: PatchEncoder | None = None,
        reuse_threshold: float | None = None,
    ) -> bool: ...

    def frames(self, times: np.ndarray) -> FrameReader: ...


@dataclass(frozen=True)
class VideoFile:
    """A video on disk: features and patch tokens through the per-video cache."""

    path: str

    @property
    def name(self) -> str:
        return self.path

    def extract(
        self,
        sampling: Sampling,
        encoder: Encoder,
        cache: Cache | None,
        *,
        patch_encoder: PatchEncoder | None = None,
        progress: Progress = False,
        reuse_threshold: float | None = None,
    ) -> Extraction:
        return extract(
            self.path,
            sampling,
            encoder,
            cache,
            patch_encoder=patch_encoder,
            progress=progress,
            reuse_threshold=reuse_threshold,
        )

    def is_extracted(
        self,
        sampling: Sampling,
        encoder: Encoder,
        cache: Cache | None,
        *,
        patch_encoder: PatchEncoder | None = None,
        reuse_threshold: float | None = None,
    ) -> bool:
        return is_cached(
            self.path,
            sampling,
            encoder,
            cache,
            patch_encoder=patch_encoder,
            reuse_threshold=reuse_threshold,
        )

    def frames(self, times: np.ndarray) -> FrameReader:
        return DecodedFrames(self.path, np.asarray(times, dtype=np.float64))


@dataclass(frozen=True)
class DecodedFrames:
    """Candidate frames re-decoded from the file at their pool times, checked to be theirs."""

    path: str
    times: np.ndarray  # (N,) the candidate pool's times

    def read(
        self, indices: np.ndarray, resize: Resize, batch_size: int = 16
    ) -> Iterator[FrameBatch]:
        wanted = self.times[np.asarray(indices, dtype=np.int64)]  # (M,)
        done = 0
        for batch in decode_at(self.path, wanted, resize, batch_size=batch_size):
            _check_decoded(batch.times, wanted[done : done + len(batch.times)], done, self.path)
            done += len(batch.times)
            yield batch
        _check_decoded(np.empty(0), wanted[done:], done, self.path)


def _check_decoded(
    decoded: np.ndarray, expected: np.ndarray, offset: int, video: str | os.PathLike
) -> None:
    """Each candidate must come back as its own frame, or per-frame scores would misalign."""
    n = min(len(decoded), len(expected))
    bad = np.flatnonzero(np.abs(decoded[:n] - expected[:n]) > TIME_TOLERANCE)
    if len(bad) or len(decoded) != len(expected):
        i = int(bad[0]) if len(bad) else n
        at = f" (at {expected[i]:.3f} s)" if i < len(expected) else ""
        raise InputError(
            f"{video}: candidate {offset + i}{at} did not decode to its own frame; the file "
            "changed since its candidate pool was read"
        )
