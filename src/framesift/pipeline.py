"""The public entry point: ``Pipeline(...).ask(video, question, options)``.

decode -> encode (cached per video) -> select -> answer. The encoder is loaded once per
pipeline and every question on an already-seen video costs one text embedding, a selection
and the answer.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from framesift.answer import ANSWERERS, Answer, Answerer, Evidence
from framesift.cache import FeatureCache, default_cache_dir
from framesift.compress import MERGERS
from framesift.decode import Sampling
from framesift.encode import Encoder, build_encoder
from framesift.errors import InputError
from framesift.features import extract_features
from framesift.select import SELECTORS, Selector, build_selector


@dataclass
class Keyframe:
    index: int  # position in the candidate pool
    time: float  # seconds from the start of the video
    score: float  # relevance to the question, on the encoder's cosine scale


@dataclass
class AskResult:
    video: str
    question: str
    options: list[str] | None
    answer: str | None
    answer_index: int | None
    option_scores: list[float] | None
    keyframes: list[Keyframe]
    frames_considered: int
    encoder: str
    selector: str
    budget: int
    cached: bool
    tokens: dict[str, int] | None = None  # visual tokens before/after compression (--merge)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PipelineConfig:
    """Everything that defines a pipeline; ``PipelineConfig(**json)`` rejects unknown keys."""

    encoder: str = "bundled"
    selector: str = "dks"
    selector_params: dict[str, Any] = field(default_factory=dict)
    budget: int = 8
    fps: float = 1.0
    frames: int | None = None  # a fixed number of evenly spaced candidates instead of fps
    answerer: str = "similarity"  # "name" or "name:model id or folder", e.g. "llava-ov:<id>"
    merge: str | None = None  # dfm | mean | drop: answer from the compressed token sequence
    keyframe_pool: int = 1  # 2: keyframes pooled 2x2 as LLaVA-OneVision pools video frames
    cache_dir: str | None = None  # None: the user cache folder (or $FRAMESIFT_CACHE)
    use_cache: bool = True
    progress: bool = False

    def __post_init__(self) -> None:
        if self.budget < 1:
            raise InputError(f"budget must be at least 1 keyframe, got {self.budget}")
        if not self.fps > 0:
            raise InputError(f"fps must be positive, got {self.fps}")
        if self.frames is not None and self.frames < 1:
            raise InputError(f"frames must be at least 1, got {self.frames}")
        SELECTORS.get(self.selector.partition(":")[0])  # fail now, listing the valid names
        ANSWERERS.get(self.answerer.partition(":")[0])
        if self.merge is not None:
            MERGERS.get(self.merge)
        if self.keyframe_pool < 1:
            raise InputError(f"keyframe_pool must be at least 1, got {self.keyframe_pool}")


class Pipeline:
    def __init__(
        self, config: PipelineConfig | None = None, *, encoder: Encoder | None = None, **kwargs: Any
    ):
        """``Pipeline(budget=4)`` or ``Pipeline(PipelineConfig(...))``; pass a built ``encoder``
        to share one between pipelines."""
        self.config = config or PipelineConfig(**kwargs)
        self._encoder = encoder
        self._answerer: Answerer | None = None
        self._selectors: dict[str, Selector] = {}  # built once: some load model weights
        self.cache_root = Path(self.config.cache_dir or default_cache_dir())
        self.cache = FeatureCache(self.cache_root / "features") if self.config.use_cache else None

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = build_encoder(self.config.encoder)
        return self._encoder

    @property
    def answerer(self) -> Answerer:
        """Built on first use: ``name`` or ``name:argument`` (a model id or folder)."""
        if self._answerer is None:
            name, _, argument = self.config.answerer.partition(":")
            cls = ANSWERERS.get(name)
            args = (argument,) if argument else ()
            self._answerer = cls(*args, encoder=self.encoder)
        return self._answerer

    def build_selector(self, name: str | None = None) -> Selector:
        """A selector (the configured one by default) with the encoder's score-scale defaults.

        ``selector_params`` override the defaults of the configured selector only.
        """
        spec = name or self.config.selector
        if spec not in self._selectors:
            params = self.encoder.info.selector_defaults.get(spec.partition(":")[0], {})
            if spec == self.config.selector:
                params = {**params, **self.config.selector_params}
            self._selectors[spec] = build_selector(spec, **params)
        return self._selectors[spec]

    def sampling(self, start: float | None = None, end: float | None = None) -> Sampling:
        """The candidate pool: ``frames`` evenly spaced frames if set, else ``fps``."""
        if self.config.frames is not None:
            return Sampling(fps=None, count=self.config.frames, start=start, end=end)
        return Sampling(fps=self.config.fps, start=start, end=end)

    def _select(self, video, features, question, query, relevance) -> np.ndarray:
        """The selector's richest ability: frames themselves, the question, or relevance."""
        selector, budget = self.build_selector(), self.config.budget
        if hasattr(selector, "select_frames"):
            return selector.select_frames(str(video), features.times, question, budget)
        if hasattr(selector, "select_for_query"):
            return selector.select_for_query(query, features.embeddings, budget)
        return selector.select(relevance, features.embeddings, budget)

    def ask(
        self,
        video: str | os.PathLike,
        question: str,
        options: list[str] | None = None,
        *,
        start: float | None = None,
        end: float | None = None,
    ) -> AskResult:
        question = _check_question(question, options)
        t_load = time.perf_counter()
        encoder, _ = self.encoder, self.answerer  # weights load once per pipeline, not per ask
        t_start = time.perf_counter()
        sampling = self.sampling(start, end)
        extraction = extract_features(
            video, sampling, encoder, self.cache, progress=self.config.progress
        )
        features = extraction.features

        t0 = time.perf_counter()
        query = self.encoder.encode_text([question])[0]  # (D,)
        relevance = features.embeddings @ query  # (N,)
        chosen = self._select(video, features, question, query, relevance)
        t_select = time.perf_counter() - t0

        keyframes = [
            Keyframe(int(i), float(features.times[i]), float(relevance[i])) for i in chosen
        ]
        answer, tokens, timings = None, None, {}
        if self.config.merge or not hasattr(self.answerer, "answer"):  # token-only answerers
            answer, tokens, timings = self._answer_from_tokens(
                video, sampling, question, options, chosen
            )
        elif options:
            t0 = time.perf_counter()
            evidence = Evidence(
                video=str(video),
                times=features.times[chosen],
                embeddings=features.embeddings[chosen],
                scores=relevance[chosen],
            )
            answer = self.answerer.answer(question, options, evidence)
            timings["answer"] = time.perf_counter() - t0
        return AskResult(
            video=str(video),
            question=question,
            options=options,
            answer=answer.text if answer else None,
            answer_index=answer.index if answer else None,
            option_scores=answer.option_scores if answer else None,
            keyframes=keyframes,
            frames_considered=len(features.times),
            encoder=self.encoder.info.name,
            selector=self.config.selector,
            budget=self.config.budget,
            cached=extraction.cached,
            tokens=tokens,
            timings={
                "decode": extraction.decode_s,
                "encode": extraction.encode_s,
                "select": t_select,
                "compress": timings.get("compress", 0.0),
                "answer": timings.get("answer", 0.0),
                "total": time.perf_counter() - t_start,
                "load": t_start - t_load,  # model weights, first ask of a pipeline only
            },
        )

    def _answer_from_tokens(
        self,
        video: str | os.PathLike,
        sampling: Sampling,
        question: str,
        options: list[str] | None,
        keyframes: np.ndarray,
    ) -> tuple[Answer | None, dict[str, int], dict[str, float]]:
        """Keyframes at full tokens, other frames merged (``merge``, default drop), answered
        by a token-reading answerer. The patch tokens stream from a per-video file, so memory
        stays one chunk of frames however long the video is."""
        from framesift.compress import compress_frames
        from framesift.patches import patch_store

        answerer = self.answerer
        if not hasattr(answerer, "answer_tokens"):
            raise InputError(
                f"answerer {self.config.answerer!r} does not read token sequences; "
                "use --merge with the similarity or llava-ov answerer"
            )
        merger = MERGERS.build(self.config.merge or "drop")
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as scratch:  # only used with --no-cache
            root = self.cache_root / "patches" if self.config.use_cache else Path(scratch)
            store, _ = patch_store(video, sampling, answerer.patch_encoder, root)
            with store:
                query = (  # (D,), only where the merger weighs patches by the question
                    answerer.patch_encoder.embed_query(question) if merger.uses_query else None
                )
                sequence = compress_frames(
                    store,
                    store.times,
                    keyframes,
                    query,
                    merger,
                    keyframe_pool=self.config.keyframe_pool,
                )
        t1 = time.perf_counter()
        answer = None
        if options or getattr(answerer, "open_ended", False):
            answer = answerer.answer_tokens(question, options or [], sequence)
        key_tokens = int(sequence.is_keyframe_token.sum())
        tokens = {
            "before": int(sequence.tokens_before),
            "after": len(sequence.embeddings),
            "keyframe_tokens": key_tokens,
            "merged_tokens": len(sequence.embeddings) - key_tokens,
        }
        return answer, tokens, {"compress": t1 - t0, "answer": time.perf_counter() - t1}


def ask(
    video: str | os.PathLike, question: str, options: list[str] | None = None, **config: Any
) -> AskResult:
    """One-shot convenience: ``ask("clip.mp4", "Is there a dog?", budget=4)``."""
    start, end = config.pop("start", None), config.pop("end", None)
    return Pipeline(**config).ask(video, question, options, start=start, end=end)


def _check_question(question: str, options: list[str] | None) -> str:
    if not question or not question.strip():
        raise InputError("the question is empty; ask something about the video")
    if options is not None:
        if len(options) < 2:
            raise InputError(f"give at least two options to choose from, got {len(options)}")
        if any(not o or not o.strip() for o in options):
            raise InputError("an option is empty; every option needs some text")
    return question.strip()


__all__ = ["AskResult", "Keyframe", "Pipeline", "PipelineConfig", "ask"]
