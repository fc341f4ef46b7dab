"""``decode_frames``: a sampling's candidate frames, by the cheapest way to get them exactly."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from framesift.decode.probe import probe
from framesift.decode.reader import (
    SEEK_SPACING,
    EndReport,
    FrameBatch,
    Strategy,
    batches,
    candidate_frames,
    resize_list,
)
from framesift.decode.resize import Resize
from framesift.decode.sampling import Sampling, targets
from framesift.errors import InputError


def decode_frames(
    path: str | os.PathLike,
    sampling: Sampling,
    resize: Resize | Sequence[Resize],
    *,
    batch_size: int = 32,
    strategy: Strategy = "auto",
    workers: int | None = None,
) -> Iterator[FrameBatch]:
    """Yield the candidate frames of ``path`` in temporal order, ``batch_size`` at a time.

    The candidate for a target time is the frame on screen then (the last frame with
    pts <= target); a frame that several targets share comes once, so there are never more
    candidates than frames, however high ``fps`` is; targets after the last decodable frame
    are dropped, whatever the header claims (a stream ending well short of its stated
    duration is logged as truncated). ``resize``: one size, or several (each batch then has
    them all in ``views``: frames are decoded once, resized for each consumer).
    ``strategy``: "sequential" decodes every frame once; "seek" jumps to the keyframe
    before far-away targets; "auto" seeks when targets are ``SEEK_SPACING`` s or more
    apart. All give identical frames. ``workers``: processes splitting a long file (see
    ``framesift.decode.workers``); None chooses (several for long seekable files), 1 never.

    File errors (``VideoNotFoundError``, ``VideoDecodeError``) and bad arguments
    (``InputError``) are raised by this call; a file whose frames all fail to decode
    (``VideoDecodeError``) or whose real end comes before the window (``InputError``)
    raises when iterated.
    """
    if strategy not in ("auto", "sequential", "seek"):
        raise InputError(f"strategy must be 'auto', 'sequential' or 'seek', got {strategy!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise InputError(f"workers must be a positive integer or None, got {workers!r}")
    if workers is not None and workers < 1:
        raise InputError(f"workers must be a positive integer or None, got {workers!r}")
    resizes = resize_list(resize)
    info = probe(path)
    start = sampling.start or 0.0
    if start >= info.duration:
        raise InputError(
            f"sampling window starts at {start} s but {info.path} lasts {info.duration:.3f} s; "
            "choose a start inside the video"
        )
    pool = targets(sampling, info.duration)
    from framesift.decode.workers import decode_in_workers, worker_count  # on first decode

    count = worker_count(info, sampling, workers)
    if count > 1:
        return decode_in_workers(info, sampling, pool, resizes, batch_size, count)
    seek = strategy == "seek" or (
        strategy == "auto" and sampling.spacing(info.duration) >= SEEK_SPACING
    )
    candidates = candidate_frames(info.path, pool, seek, on_end=EndReport(info))
    return batches(candidates, resizes, batch_size)
