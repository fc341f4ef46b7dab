"""ViLA training examples: a benchmark's questions as frozen, cached encoder features.

ViLA trains only small modules over frozen encoders, so every epoch can read the same
features: each video is decoded and encoded once (through the feature cache, T evenly spaced
frames with patch embeddings), and the examples hold tensors, never pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from framesift.cache import FeatureCache
from framesift.decode import Sampling
from framesift.encode import Encoder
from framesift.errors import FramesiftError
from framesift.eval.loaders import BENCHMARKS
from framesift.features import extract_features


@dataclass
class FeatureBatch:
    """A batch of examples. Shapes: frames (B, T, D), patches (B, T, P, D'), question (B, D),
    options (B, O, D) zero-padded, option_mask (B, O) True where an option exists, answer (B,)."""

    frames: torch.Tensor
    patches: torch.Tensor
    question: torch.Tensor
    options: torch.Tensor
    option_mask: torch.Tensor
    answer: torch.Tensor

    def __len__(self) -> int:
        return len(self.answer)


def load_examples(
    benchmark: str,
    annotations: str | Path,
    videos: str | Path,
    encoder: Encoder,
    cache: FeatureCache | None,
    frames: int,
    *,
    progress: bool = True,
) -> tuple[FeatureBatch, list[str]]:
    """Every multiple-choice question whose video decodes, as one batch; and skipped qids."""
    from tqdm.auto import tqdm

    loader = BENCHMARKS.build(benchmark)
    samples = [s for s in loader.load(Path(annotations)) if s.options]
    rows, skipped = [], []
    for sample in tqdm(samples, desc="features", unit="q", disable=not progress or None):
        try:
            video = loader.video_file(Path(videos), sample)
            sampling = Sampling(fps=None, count=frames, start=sample.start, end=sample.end)
            features = extract_features(video, sampling, encoder, cache, with_patches=True).features
        except (FramesiftError, OSError):
            skipped.append(sample.qid)
            continue
        if len(features.times) != frames:  # a clip too short for T distinct frames
            skipped.append(sample.qid)
            continue
        texts = encoder.encode_text([sample.question, *sample.options])  # (1 + O, D)
        rows.append((features, texts, sample.answer))
    if not rows:
        raise FramesiftError(f"no usable question in {annotations} (videos under {videos})")
    width = max(len(texts) - 1 for _, texts, _ in rows)
    options = np.zeros((len(rows), width, rows[0][1].shape[1]), np.float32)
    mask = np.zeros((len(rows), width), bool)
    for i, (_, texts, _) in enumerate(rows):
        options[i, : len(texts) - 1] = texts[1:]
        mask[i, : len(texts) - 1] = True
    batch = FeatureBatch(
        frames=torch.from_numpy(np.stack([f.embeddings for f, _, _ in rows])),
        patches=torch.from_numpy(np.stack([f.patches for f, _, _ in rows]).astype(np.float32)),
        question=torch.from_numpy(np.stack([t[0] for _, t, _ in rows])),
        options=torch.from_numpy(options),
        option_mask=torch.from_numpy(mask),
        answer=torch.tensor([a for _, _, a in rows]),
    )
    return batch, skipped


def minibatches(batch: FeatureBatch, size: int, generator: torch.Generator | None = None):
    """Shuffled (with ``generator``) or in-order minibatches of ``batch``."""
    order = (
        torch.randperm(len(batch), generator=generator) if generator else torch.arange(len(batch))
    )
    for start in range(0, len(batch), size):
        idx = order[start : start + size]
        yield FeatureBatch(*(getattr(batch, f)[idx] for f in FeatureBatch.__dataclass_fields__))
