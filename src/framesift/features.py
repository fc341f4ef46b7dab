"""Decode + encode one video into candidate-frame features, through the cache.

This is the expensive, question-independent half of the pipeline: frames stream from the
decoder to the encoder batch by batch, so memory holds one batch of pixels at a time.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from framesift.cache import FeatureCache, VideoFeatures, fingerprint
from framesift.decode import Sampling, decode_frames, probe
from framesift.encode import Encoder
from framesift.errors import VideoDecodeError, VideoNotFoundError


@dataclass
class Extraction:
    features: VideoFeatures
    cached: bool
    decode_s: float = 0.0
    encode_s: float = 0.0


def extract_features(
    video: str | os.PathLike,
    sampling: Sampling,
    encoder: Encoder,
    cache: FeatureCache | None = None,
    *,
    with_patches: bool = False,
    progress: bool = False,
) -> Extraction:
    """Candidate-frame features of ``video``; read from ``cache`` when a valid entry exists."""
    if not os.path.isfile(video):
        raise VideoNotFoundError(f"video not found: {video} (check the path)")
    key = None
    if cache is not None:
        key = FeatureCache.key(
            video=fingerprint(video),
            sampling=sampling.to_dict(),
            encoder=encoder.info.name,
            resize=encoder.info.resize,
            patches=with_patches,
        )
        hit = cache.load(key)
        if hit is not None:
            return Extraction(hit, cached=True)
    extraction = _encode_video(video, sampling, encoder, with_patches, progress)
    if cache is not None:
        meta = {"video": os.path.abspath(video), "sampling": sampling.to_dict()}
        cache.save(key, extraction.features, {**meta, "encoder": encoder.info.name})
    return extraction


def _encode_video(
    video: str | os.PathLike,
    sampling: Sampling,
    encoder: Encoder,
    with_patches: bool,
    progress: bool,
) -> Extraction:
    from tqdm.auto import tqdm

    bar = tqdm(
        total=_expected_frames(video, sampling),
        unit="frame",
        desc=f"encoding {os.path.basename(video)}",
        disable=not progress or None,
        leave=False,
    )
    times, embeddings, patches = [], [], []
    decode_s = encode_s = 0.0
    batches = decode_frames(video, sampling, encoder.info.resize)
    with bar:
        while True:
            t0 = time.perf_counter()
            batch = next(batches, None)
            t1 = time.perf_counter()
            decode_s += t1 - t0
            if batch is None:
                break
            out = encoder.encode_frames(batch.pixels, with_patches=with_patches)
            encode_s += time.perf_counter() - t1
            times.append(batch.times)
            embeddings.append(out.embeddings.astype(np.float32))
            if with_patches:
                patches.append(out.patches.astype(np.float16))  # halves the cache; cos is robust
            bar.update(len(batch.times))
    if not times:
        raise VideoDecodeError(f"{video}: no frames could be decoded in the requested window")
    features = VideoFeatures(
        times=np.concatenate(times).astype(np.float64),
        embeddings=np.concatenate(embeddings),
        patches=np.concatenate(patches) if with_patches else None,
    )
    return Extraction(features, cached=False, decode_s=decode_s, encode_s=encode_s)


def _expected_frames(video: str | os.PathLike, sampling: Sampling) -> int | None:
    """For the progress bar only; the decoder decides the real count."""
    if sampling.count is not None:
        return sampling.count
    duration = probe(video).duration
    start = sampling.start or 0.0
    end = min(sampling.end, duration) if sampling.end is not None else duration
    return max(int((end - start) * (sampling.fps or 1.0)) + 1, 1)
