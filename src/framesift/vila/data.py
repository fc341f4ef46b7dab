"""ViLA training examples: a benchmark's questions as frozen, cached features.

ViLA trains only small modules over frozen encoders, so every epoch can read the same
features: each video is decoded and encoded once (T evenly spaced frames, through the feature
cache), and the examples hold tensors, never pixels. The prompter always reads the framesift
encoder's frame and question embeddings. The patches the Q-Former reads are that encoder's
too, or, for a host with its own vision tower (InstructBLIP), the tower's outputs: those are
large (257 x 1408 per frame for ViT-g), so they stay in the patch cache on disk and are read
one minibatch at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from framesift.answer.similarity import EncoderPatches
from framesift.cache import Cache, PatchStore, extract
from framesift.decode import Sampling
from framesift.encode import Encoder
from framesift.encode.base import PatchEncoder
from framesift.errors import FramesiftError
from framesift.eval.loaders import BENCHMARKS


class StoredPatches:
    """(N, T, P, D') patches of N examples left in patch-cache files, indexed by example rows.

    ``files``: (path, (T, P, D'), times) per video, as ``PatchStore`` takes them;
    ``file_of``: each example's file.
    """

    def __init__(self, files: list[tuple[Path, tuple[int, int, int], np.ndarray]], file_of):
        self.files, self.file_of = files, list(file_of)
        self.shape = (len(self.file_of), *files[0][1])

    def __len__(self) -> int:
        return len(self.file_of)

    def __getitem__(self, rows: torch.Tensor) -> torch.Tensor:
        """(b, T, P, D') float32 for the examples ``rows`` (a long tensor)."""
        read: dict[int, torch.Tensor] = {}  # questions on one video read its file once
        for i in rows.tolist():
            f = self.file_of[i]
            if f not in read:
                with PatchStore(*self.files[f]) as store:
                    read[f] = torch.from_numpy(store[:])
        return torch.stack([read[self.file_of[i]] for i in rows.tolist()])


@dataclass
class FeatureBatch:
    """A batch of examples. Shapes: frames (B, T, D), patches (B, T, P, D') (a tensor, or
    ``StoredPatches`` before ``take``), question (B, D), options (B, O, D) zero-padded,
    option_mask (B, O) True where an option exists, answer (B,). The texts are for hosts that
    read words (a language model): question_text (B,), option_text (B,) lists."""

    frames: torch.Tensor
    patches: torch.Tensor | StoredPatches
    question: torch.Tensor
    options: torch.Tensor
    option_mask: torch.Tensor
    answer: torch.Tensor
    question_text: list[str] = field(default_factory=list)
    option_text: list[list[str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.answer)

    def to(self, device: str | torch.device) -> FeatureBatch:
        """The tensors on ``device`` (patches must be in memory: ``take`` first)."""
        tensors = ("frames", "patches", "question", "options", "option_mask", "answer")
        return replace(self, **{k: getattr(self, k).to(device) for k in tensors})

    def take(self, rows: torch.Tensor) -> FeatureBatch:
        """The examples ``rows`` (long tensor), patches read into memory."""
        picked = rows.tolist()
        return FeatureBatch(
            frames=self.frames[rows],
            patches=self.patches[rows],
            question=self.question[rows],
            options=self.options[rows],
            option_mask=self.option_mask[rows],
            answer=self.answer[rows],
            question_text=[self.question_text[i] for i in picked] if self.question_text else [],
            option_text=[self.option_text[i] for i in picked] if self.option_text else [],
        )


def load_examples(
    benchmark: str,
    annotations: str | Path,
    videos: str | Path,
    encoder: Encoder,
    cache: Cache | None,
    frames: int,
    *,
    patch_encoder: PatchEncoder | None = None,
    progress: bool = True,
) -> tuple[FeatureBatch, list[str]]:
    """Every multiple-choice question whose video decodes, as one batch; and skipped qids.

    Each video's frame embeddings and patches come from one decode pass through ``cache``.
    With ``patch_encoder`` (a host's vision tower) the patches are its outputs, left in the
    cache's files (``StoredPatches``); without, the encoder's own patches, in memory.
    """
    from tqdm.auto import tqdm

    if patch_encoder is not None and cache is None:
        raise FramesiftError("a host with its own vision tower needs a cache folder")
    loader = BENCHMARKS.build(benchmark)
    # a question whose released answer is none of its options (MLVU) has no label to train on
    samples = [s for s in loader.load(Path(annotations)) if s.options and s.answer is not None]
    tokens = patch_encoder or EncoderPatches(encoder)  # its own patches share the forward pass
    rows, skipped, files, videos_seen = [], [], [], {}
    for sample in tqdm(samples, desc="features", unit="q", disable=not progress or None):
        try:
            video = loader.video_file(Path(videos), sample)
            sampling = Sampling(fps=None, count=frames, start=sample.start, end=sample.end)
            key = (str(video), sampling)
            if key not in videos_seen:
                videos_seen[key] = _video_features(video, sampling, encoder, cache, tokens, files)
            embeddings, patches = videos_seen[key]
        except (FramesiftError, OSError):
            skipped.append(sample.qid)
            continue
        texts = encoder.encode_text([sample.question, *sample.options])  # (1 + O, D)
        rows.append((embeddings, patches, texts, sample))
    if not rows:
        raise FramesiftError(f"no usable question in {annotations} (videos under {videos})")
    width = max(len(texts) - 1 for _, _, texts, _ in rows)
    options = np.zeros((len(rows), width, rows[0][2].shape[1]), np.float32)
    mask = np.zeros((len(rows), width), bool)
    for i, (_, _, texts, _) in enumerate(rows):
        options[i, : len(texts) - 1] = texts[1:]
        mask[i, : len(texts) - 1] = True
    if patch_encoder is None:
        patches = torch.from_numpy(np.stack([p for _, p, _, _ in rows]))
    else:
        patches = StoredPatches(files, [p for _, p, _, _ in rows])
    batch = FeatureBatch(
        frames=torch.from_numpy(np.stack([e for e, _, _, _ in rows])),
        patches=patches,
        question=torch.from_numpy(np.stack([t[0] for _, _, t, _ in rows])),
        options=torch.from_numpy(options),
        option_mask=torch.from_numpy(mask),
        answer=torch.tensor([s.answer for _, _, _, s in rows]),
        question_text=[s.question for _, _, _, s in rows],
        option_text=[list(s.options) for _, _, _, s in rows],
    )
    return batch, skipped


def _video_features(
    video: Path,
    sampling: Sampling,
    encoder: Encoder,
    cache: Cache | None,
    tokens: PatchEncoder,
    files: list[tuple[Path, tuple[int, int, int], np.ndarray]],
) -> tuple[np.ndarray, np.ndarray | int]:
    """(T, D) frame embeddings, and the (T, P, D') patches in memory (the encoder's own) or
    the index in ``files`` of the video's patch file (a host's tower outputs)."""
    extraction = extract(video, sampling, encoder, cache, patch_encoder=tokens)
    with extraction.patches as store:  # type: ignore[union-attr]
        if len(store) != sampling.count:  # a clip too short for T distinct frames
            raise FramesiftError(f"{video}: fewer than {sampling.count} distinct frames")
        if isinstance(tokens, EncoderPatches):
            patches: np.ndarray | int = store[:]  # (T, P, D') float32
        else:
            patches = len(files)
            files.append((store.path, store.shape, store.times))
    return extraction.features.embeddings, patches  # type: ignore[union-attr]


def minibatches(batch: FeatureBatch, size: int, generator: torch.Generator | None = None):
    """Shuffled (with ``generator``) or in-order minibatches of ``batch``, patches in memory."""
    order = (
        torch.randperm(len(batch), generator=generator) if generator else torch.arange(len(batch))
    )
    for start in range(0, len(batch), size):
        yield batch.take(order[start : start + size])
