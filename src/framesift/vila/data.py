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

from framesift.encode.base import PatchEncoder
from framesift.cache import FeatureCache
from framesift.decode import Sampling
from framesift.encode import Encoder
from framesift.errors import FramesiftError
from framesift.eval.loaders import BENCHMARKS
from framesift.features import extract_features


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
        from framesift.patches import PatchStore

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
    cache: FeatureCache | None,
    frames: int,
    *,
    patch_encoder: PatchEncoder | None = None,
    patch_root: Path | None = None,
    progress: bool = True,
) -> tuple[FeatureBatch, list[str]]:
    """Every multiple-choice question whose video decodes, as one batch; and skipped qids.

    With ``patch_encoder`` (a host's vision tower) the patches are its outputs, cached under
    ``patch_root`` and left there (``StoredPatches``); without, the encoder's own patches.
    """
    from tqdm.auto import tqdm

    loader = BENCHMARKS.build(benchmark)
    # a question whose released answer is none of its options (MLVU) has no label to train on
    samples = [s for s in loader.load(Path(annotations)) if s.options and s.answer is not None]
    rows, skipped, files, file_index = [], [], [], {}
    for sample in tqdm(samples, desc="features", unit="q", disable=not progress or None):
        try:
            video = loader.video_file(Path(videos), sample)
            sampling = Sampling(fps=None, count=frames, start=sample.start, end=sample.end)
            features = extract_features(
                video, sampling, encoder, cache, with_patches=patch_encoder is None
            ).features
            if len(features.times) != frames:  # a clip too short for T distinct frames
                raise FramesiftError(f"{video}: fewer than {frames} distinct frames")
            if patch_encoder is not None:
                key = (str(video), sampling)
                if key not in file_index:
                    file_index[key] = len(files)
                    files.append(_stored(video, sampling, patch_encoder, patch_root, features))
                features = file_index[key]
        except (FramesiftError, OSError):
            skipped.append(sample.qid)
            continue
        texts = encoder.encode_text([sample.question, *sample.options])  # (1 + O, D)
        rows.append((features, texts, sample))
    if not rows:
        raise FramesiftError(f"no usable question in {annotations} (videos under {videos})")
    width = max(len(texts) - 1 for _, texts, _ in rows)
    options = np.zeros((len(rows), width, rows[0][1].shape[1]), np.float32)
    mask = np.zeros((len(rows), width), bool)
    for i, (_, texts, _) in enumerate(rows):
        options[i, : len(texts) - 1] = texts[1:]
        mask[i, : len(texts) - 1] = True
    if patch_encoder is None:
        embeddings = [f.embeddings for f, _, _ in rows]
        patches = torch.from_numpy(np.stack([f.patches for f, _, _ in rows]).astype(np.float32))
    else:
        embeddings = [files[i][3] for i, _, _ in rows]
        patches = StoredPatches([f[:3] for f in files], [i for i, _, _ in rows])
    batch = FeatureBatch(
        frames=torch.from_numpy(np.stack(embeddings)),
        patches=patches,
        question=torch.from_numpy(np.stack([t[0] for _, t, _ in rows])),
        options=torch.from_numpy(options),
        option_mask=torch.from_numpy(mask),
        answer=torch.tensor([s.answer for _, _, s in rows]),
        question_text=[s.question for _, _, s in rows],
        option_text=[list(s.options) for _, _, s in rows],
    )
    return batch, skipped


def _stored(video, sampling: Sampling, patch_encoder: PatchEncoder, root: Path | None, features):
    """Build (or find) the video's patch file; (path, shape, times, frame embeddings)."""
    from framesift.patches import patch_store

    if root is None:
        raise FramesiftError("a host with its own vision tower needs a patch cache folder")
    store, _ = patch_store(video, sampling, patch_encoder, root)
    with store:
        if not np.allclose(store.times, features.times):
            raise FramesiftError(f"{video}: the vision tower's frames differ from the encoder's")
        return store.path, store.shape, store.times, features.embeddings


def minibatches(batch: FeatureBatch, size: int, generator: torch.Generator | None = None):
    """Shuffled (with ``generator``) or in-order minibatches of ``batch``, patches in memory."""
    order = (
        torch.randperm(len(batch), generator=generator) if generator else torch.arange(len(batch))
    )
    for start in range(0, len(batch), size):
        yield batch.take(order[start : start + size])
