"""The public entry point: ``Pipeline(...).ask(video, question, options)``.

decode -> encode (cached per video) -> select -> compress -> answer. Parts are named in one
grammar (``name[:argument]`` plus per-part parameters, see ``framesift.registry``), built once
per pipeline, and share one ``ModelCache``: a localizer and an answerer of the same model hold
one copy. What the pipeline prepares for a question follows what its parts declare: a
selector gets one ``SelectionRequest`` (relevance, embeddings, times, the question, a frame
reader), an answerer one ``AnswerRequest`` with a token sequence when it reads tokens.
Every question on an already-seen video costs one text embedding, a selection and the answer.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from framesift.answer import ANSWERERS, Answerer, AnswerRequest, Evidence
from framesift.answer.choices import LETTERS, normalize_text
from framesift.cache import Cache
from framesift.compress import MERGERS
from framesift.decode import Sampling
from framesift.encode import ENCODERS, Encoder, build_encoder
from framesift.errors import InputError
from framesift.hub import DTYPES, ModelCache, default_cache_dir, set_torch_threads
from framesift.registry import PartSpec
from framesift.select import SELECTORS, SelectionRequest, Selector
from framesift.select.base import FrameReader
from framesift.source import Progress, VideoFile, VideoSource

PARTS = ("selector", "answerer", "merge", "encoder")  # the parts ``params`` may address


def _option(help: str, metavar: str | None = None, flag: str | None = None) -> dict[str, Any]:
    """Field metadata the CLI builds its options from (so defaults live only here)."""
    return {"help": help, "metavar": metavar, "flag": flag}


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
    tokens: dict[str, int] | None = None  # visual tokens before/after compression
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Prepared:
    """What ``ask`` and ``loglikelihood`` share before the answer (``Pipeline._prepare``):
    ``relevance`` (N,) of every candidate, ``chosen`` (K,) keyframe positions among them,
    ``tokens`` the compressed sequence or None, ``started`` the perf_counter at the start."""

    source: VideoSource
    features: Any
    relevance: np.ndarray
    chosen: np.ndarray
    frames: FrameReader
    tokens: Any
    cached: bool
    timings: dict[str, float]
    started: float

    def request(self, question: str, options: list[str] | None) -> AnswerRequest:
        evidence = Evidence(
            video=self.source.name,
            times=self.features.times[self.chosen],
            embeddings=self.features.embeddings[self.chosen],
            scores=self.relevance[self.chosen],
            indices=self.chosen,
            frames=self.frames,
        )
        return AnswerRequest(question, list(options or []), evidence, self.tokens)


@dataclass(frozen=True)
class PipelineConfig:
    """Everything that defines a pipeline; ``PipelineConfig(**json)`` rejects unknown keys.

    ``params`` holds per-part parameters: ``{"selector": {"relevance_floor": 0.1}}``; the
    parts are ``selector``, ``answerer``, ``merge`` and ``encoder``.
    """

    encoder: str = field(
        default="bundled",
        metadata=_option(
            "frame/text encoder: 'bundled' (offline: EfficientNet-Lite0 bridged to MiniLM) or "
            "'hf:<hub id or folder>' for CLIP/SigLIP, e.g. hf:openai/clip-vit-base-patch32",
            "NAME[:ARG]",
        ),
    )
    selector: str = field(
        default="dks",
        metadata=_option(
            "keyframe selector: uniform, topk, dks (ViLAMP's relevant-and-not-redundant "
            "selection), bolt, aks, vila:CHECKPOINT (a trained ViLA Frame-Prompter), "
            "vlm-localizer[:MODEL] (SeViLA's per-frame VLM localizer)",
            "NAME[:ARG]",
        ),
    )
    budget: int = field(default=8, metadata=_option("keyframes to keep", "K"))
    fps: float = field(default=1.0, metadata=_option("candidate frames per second", "F"))
    frames: int | None = field(
        default=None,
        metadata=_option("exactly N evenly spaced candidate frames instead of --fps", "N"),
    )
    reuse_threshold: float | None = field(
        default=None,
        metadata=_option(
            "encode less where nothing changes: a candidate whose 64x64 grey thumbnail moved by "
            "at most T grey levels (of 255) in every 8x8 block, on average, since the last "
            "encoded frame reuses that frame's embedding instead of running the encoder; every "
            "frame keeps its own time. Off by default. 4 is conservative: it reuses nothing on "
            "footage with motion everywhere and only near-still stretches elsewhere. A "
            "separate cache entry per T",
            "T",
        ),
    )
    answerer: str = field(
        default="similarity",
        metadata=_option(
            "'similarity' (offline: the option that best matches a keyframe), "
            "'llava-ov[:MODEL]' / 'llava-ov-likelihood[:MODEL]' (LLaVA-OneVision, default "
            "llava-hf/llava-onevision-qwen2-0.5b-ov-hf), 'qwen2.5-vl[:MODEL]' / "
            "'qwen2.5-vl-likelihood[:MODEL]' (default Qwen/Qwen2.5-VL-3B-Instruct), "
            "'qwen3-vl[:MODEL]' / 'qwen3-vl-likelihood[:MODEL]' (default "
            "Qwen/Qwen3-VL-4B-Instruct): keyframe pixels with their times, 'vila:CHECKPOINT'",
            "NAME[:ARG]",
        ),
    )
    merge: str | None = field(
        default=None,
        metadata=_option(
            "answer from a compressed token sequence: keyframes keep their patch tokens, every "
            "other frame becomes one token. dfm (ViLAMP's differential merging; dfm:WEIGHTS "
            "for learned projections), mean, drop (keyframes only). Default: off for "
            "similarity, drop for answerers that read tokens",
            "NAME[:ARG]",
        ),
    )
    keyframe_pool: int = field(
        default=1,
        metadata=_option("pool keyframe patch grids by S (2 = LLaVA-OneVision's 2x2)", "S"),
    )
    params: dict[str, dict[str, Any]] = field(
        default_factory=dict,
        metadata=_option(
            "a part's parameter, repeatable: [PART.]KEY=VALUE with PART selector (the default), "
            "answerer, merge or encoder, e.g. --param relevance_floor=0.1 --param "
            "answerer.max_new_tokens=8",
            "KEY=VALUE",
            flag="--param",
        ),
    )
    device: str = field(
        default="auto",
        metadata=_option("where models run: auto (a GPU when there is one), cpu, cuda[:N]"),
    )
    dtype: str = field(
        default="auto",
        metadata=_option(f"model precision: {', '.join(DTYPES)} (auto: float16 on a GPU)"),
    )
    threads: int | None = field(
        default=None,
        metadata=_option(
            "CPU threads for the models, torch's (process-wide) and ONNX Runtime's (default: "
            "one per core)",
            "N",
        ),
    )
    cache_dir: str | None = field(
        default=None,
        metadata=_option("cache folder (default: $FRAMESIFT_CACHE or the user cache)", "DIR"),
    )
    use_cache: bool = field(
        default=True, metadata=_option("neither read nor write the cache", flag="--no-cache")
    )
    full_hash: bool = field(
        default=False,
        metadata=_option(
            "identify videos by a hash of their whole content (default: size, modification "
            "time and sampled blocks, much faster on large files)"
        ),
    )
    progress: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 1:
            raise InputError(f"budget must be at least 1 keyframe, got {self.budget}")
        if not self.fps > 0 or not np.isfinite(self.fps):
            raise InputError(f"fps must be a positive number, got {self.fps}")
        if self.frames is not None and self.frames < 1:
            raise InputError(f"frames must be at least 1, got {self.frames}")
        threshold = self.reuse_threshold
        if threshold is not None:
            number = isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
            if not number or not 0 <= threshold < np.inf:
                raise InputError(
                    f"reuse_threshold must be a grey-level difference of 0 or more (4 is "
                    f"conservative), got {threshold}"
                )
            # 4 and 4.0 are one setting, and one cache entry
            object.__setattr__(self, "reuse_threshold", float(threshold))
        if self.keyframe_pool < 1:
            raise InputError(f"keyframe_pool must be at least 1, got {self.keyframe_pool}")
        unknown = sorted(set(self.params) - set(PARTS))
        if unknown:
            raise InputError(f"params for unknown parts {unknown}; parts: {', '.join(PARTS)}")
        # every name, argument and parameter is checked now, before any model loads
        SELECTORS.check(self.selector, self.params.get("selector"))
        ANSWERERS.check(self.answerer, self.params.get("answerer"))
        ENCODERS.check(self.encoder, self.params.get("encoder"))
        if self.merge is not None or "merge" in self.params:
            MERGERS.check(self.merge or "drop", self.params.get("merge"))
        if self.device.strip().lower() not in ("auto", "cpu", "cuda") and not (
            self.device.startswith("cuda:") and self.device[5:].isdigit()
        ):
            raise InputError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if self.dtype not in DTYPES:
            raise InputError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.threads is not None and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1
        ):
            raise InputError(f"threads must be at least 1, got {self.threads}")

    @classmethod
    def option_fields(cls) -> list[Any]:
        """The fields the CLI offers as options (those with help)."""
        return [f for f in fields(cls) if f.metadata.get("help") is not None]


class Pipeline:
    def __init__(
        self, config: PipelineConfig | None = None, *, encoder: Encoder | None = None, **kwargs: Any
    ):
        """``Pipeline(budget=4)`` or ``Pipeline(PipelineConfig(...))``; pass a built ``encoder``
        to share one between pipelines."""
        self.config = config or PipelineConfig(**kwargs)
        if self.config.threads is not None:
            set_torch_threads(self.config.threads)
        self.models = ModelCache()
        self._encoder = encoder
        self._answerer: Answerer | None = None
        self._selectors: dict[str, Selector] = {}  # built once: some load model weights
        self._mergers: dict[str, Any] = {}
        self._lock = threading.RLock()  # parts are built once even when asks run in threads
        self.cache_root = Path(self.config.cache_dir or default_cache_dir())
        self.cache = (
            Cache(self.cache_root, full_hash=self.config.full_hash)
            if self.config.use_cache
            else None
        )

    # ---- parts ---------------------------------------------------------------------------
    @property
    def encoder(self) -> Encoder:
        with self._lock:
            if self._encoder is None:
                self._encoder = build_encoder(
                    self.config.encoder,
                    self.config.params.get("encoder"),
                    device=self.config.device,
                    dtype=self.config.dtype,
                    threads=self.config.threads,
                )
            return self._encoder

    def _context(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder,
            "models": self.models,
            "device": self.config.device,
            "dtype": self.config.dtype,
            "threads": self.config.threads,
        }

    @property
    def answerer(self) -> Answerer:
        with self._lock:
            if self._answerer is None:
                self._answerer = ANSWERERS.build(
                    self.config.answerer, self.config.params.get("answerer"), self._context()
                )
            return self._answerer

    def selector(self, spec: str | None = None) -> Selector:
        """A selector (the configured one by default) with the encoder's score-scale defaults;
        the configured ``params["selector"]`` apply to the configured selector only."""
        spec = spec or self.config.selector
        with self._lock:
            if spec not in self._selectors:
                name = PartSpec.parse(spec).name
                accepted = set(SELECTORS.parameters(name))
                defaults = self.encoder.info.selector_defaults.get(name, {})
                params = {k: v for k, v in defaults.items() if k in accepted}
                if spec == self.config.selector:
                    params.update(self.config.params.get("selector", {}))
                self._selectors[spec] = SELECTORS.build(spec, params, self._context())
            return self._selectors[spec]

    def _merger(self) -> Any:
        spec = self.config.merge or "drop"
        with self._lock:
            if spec not in self._mergers:
                self._mergers[spec] = MERGERS.build(
                    spec, self.config.params.get("merge"), self._context()
                )
            return self._mergers[spec]

    def _reads_tokens(self) -> bool:
        """Whether questions are answered from a compressed token sequence."""
        answerer = self.answerer
        if answerer.needs_tokens or self.config.merge is not None:
            if answerer.patch_encoder is None:
                raise InputError(
                    f"answerer {self.config.answerer!r} does not read visual tokens; drop "
                    "--merge or choose an answerer that reads them (similarity, llava-ov)"
                )
            return True
        return False

    def load(self) -> None:
        """Load every configured model now (else the first question does)."""
        _ = self.encoder, self.answerer, self.selector()
        if self._reads_tokens():
            self._merger()

    # ---- videos --------------------------------------------------------------------------
    def sampling(self, start: float | None = None, end: float | None = None) -> Sampling:
        """The candidate pool: ``frames`` evenly spaced frames if set, else ``fps``."""
        if self.config.frames is not None:
            return Sampling(fps=None, count=self.config.frames, start=start, end=end)
        return Sampling(fps=self.config.fps, start=start, end=end)

    def _patch_encoder(self) -> Any:
        return self.answerer.patch_encoder if self._reads_tokens() else None

    def index(
        self,
        video: str | os.PathLike | VideoSource,
        *,
        start: float | None = None,
        end: float | None = None,
        progress: Progress | None = None,
    ) -> bool:
        """Build the video's cache entries (features, and patch tokens when the answerer reads
        them); returns whether they were all cached already."""
        source = as_source(video)
        extraction = source.extract(
            self.sampling(start, end),
            self.encoder,
            self.cache,
            patch_encoder=self._patch_encoder(),
            progress=self.config.progress if progress is None else progress,
            reuse_threshold=self.config.reuse_threshold,
        )
        if extraction.patches is not None:
            extraction.patches.close()
        return extraction.cached

    def is_indexed(
        self,
        video: str | os.PathLike | VideoSource,
        *,
        start: float | None = None,
        end: float | None = None,
    ) -> bool:
        """Whether ``ask`` would find everything in the cache (no decoding to tell)."""
        return as_source(video).is_extracted(
            self.sampling(start, end),
            self.encoder,
            self.cache,
            patch_encoder=self._patch_encoder(),
            reuse_threshold=self.config.reuse_threshold,
        )

    def relevance(
        self,
        video: str | os.PathLike | VideoSource,
        text: str,
        *,
        start: float | None = None,
        end: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(times (N,), relevance (N,)) of every candidate frame to ``text``: a timeline."""
        if not text or not text.strip():
            raise InputError("the text is empty; say what to look for")
        source = as_source(video)
        extraction = source.extract(
            self.sampling(start, end),
            self.encoder,
            self.cache,
            reuse_threshold=self.config.reuse_threshold,
        )
        features = extraction.features
        query = self.encoder.encode_text([text.strip()])[0]  # (D,)
        return features.times, features.embeddings @ query

    # ---- questions -----------------------------------------------------------------------
    def ask(
        self,
        video: str | os.PathLike | VideoSource,
        question: str,
        options: list[str] | None = None,
        *,
        start: float | None = None,
        end: float | None = None,
        selector: str | None = None,
        budget: int | None = None,
    ) -> AskResult:
        """Answer ``question`` about ``video`` (a file, or any ``VideoSource``). ``selector``
        and ``budget`` override the configured ones for this question."""
        question = check_question(question, options)
        budget = self.config.budget if budget is None else budget
        prepared = self._prepare(video, question, start, end, selector, budget)
        answerer, timings = self.answerer, prepared.timings
        answer = None
        if options or answerer.open_ended:
            t0 = time.perf_counter()
            answer = answerer.answer(prepared.request(question, options))
            timings["answer"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - prepared.started  # wall time, loading included
        features, relevance = prepared.features, prepared.relevance
        return AskResult(
            video=prepared.source.name,
            question=question,
            options=options,
            answer=answer.text if answer else None,
            answer_index=answer.index if answer else None,
            option_scores=answer.option_scores if answer else None,
            keyframes=[
                Keyframe(int(i), float(features.times[i]), float(relevance[i]))
                for i in prepared.chosen
            ],
            frames_considered=len(features.times),
            encoder=self.encoder.info.name,
            selector=selector or self.config.selector,
            budget=budget,
            cached=prepared.cached,
            tokens=None if prepared.tokens is None else _token_counts(prepared.tokens),
            timings=timings,
        )

    def loglikelihood(
        self,
        video: str | os.PathLike | VideoSource,
        context: str,
        continuation: str,
        *,
        start: float | None = None,
        end: float | None = None,
    ) -> tuple[float, bool]:
        """(log-probability, is_greedy) of ``continuation`` as the answerer's reply to
        ``context`` (posed verbatim as the question) about ``video``, on the keyframes and
        tokens ``ask`` would select for that question: lmms-eval's ``loglikelihood``."""
        if not _scores_text(PartSpec.parse(self.config.answerer).name):
            scorers = [name for name in ANSWERERS.names() if _scores_text(name)]
            raise InputError(
                f"answerer {self.config.answerer!r} cannot score a given reply; use one that "
                f"can: {', '.join(scorers)}"
            )
        context = check_question(context, None)
        if not isinstance(continuation, str) or not continuation:
            raise InputError("the continuation is empty; give the reply to score")
        prepared = self._prepare(video, context, start, end, None, self.config.budget)
        return self.answerer.loglikelihood(prepared.request(context, None), continuation)

    def _prepare(
        self,
        video: str | os.PathLike | VideoSource,
        question: str,
        start: float | None,
        end: float | None,
        selector: str | None,
        budget: int,
    ) -> _Prepared:
        """Everything before the answer: models loaded, the video's features (cached), the
        ``budget`` keyframes chosen for ``question`` and, for an answerer that reads visual
        tokens, the compressed sequence."""
        if selector is not None:
            SELECTORS.check(selector)
        source = as_source(video)
        t_start = time.perf_counter()
        self.load()
        chooser = self.selector(selector)
        load_s = time.perf_counter() - t_start  # model weights: the first ask of a pipeline
        sampling = self.sampling(start, end)
        patch_encoder = self._patch_encoder()
        extraction = source.extract(
            sampling,
            self.encoder,
            self.cache,
            patch_encoder=patch_encoder,
            progress=self.config.progress,
            reuse_threshold=self.config.reuse_threshold,
        )
        timings = {
            "load": load_s,
            "decode": extraction.decode_s,
            "encode": extraction.encode_s,
            "select": 0.0,
            "compress": 0.0,
            "answer": 0.0,
        }
        features = extraction.features
        try:
            t0 = time.perf_counter()
            query = self.encoder.encode_text([question])[0]  # (D,)
            relevance = features.embeddings @ query  # (N,)
            request = SelectionRequest(
                relevance=relevance,
                embeddings=features.embeddings,
                budget=budget,
                times=features.times,
                query=query,
                question=question,
                frames=source.frames(features.times),
            )
            chosen = np.asarray(chooser.select(request), dtype=np.int64)
            timings["select"] = time.perf_counter() - t0
            tokens = None
            if patch_encoder is not None:
                t0 = time.perf_counter()
                tokens = self._compress(extraction.patches, features.times, chosen, question)
                timings["compress"] = time.perf_counter() - t0
        finally:
            if extraction.patches is not None:
                extraction.patches.close()
        return _Prepared(
            source, features, relevance, chosen, request.frames, tokens, extraction.cached,
            timings, t_start,
        )  # fmt: skip

    def _compress(self, patches: Any, times: np.ndarray, chosen: np.ndarray, question: str) -> Any:
        """Keyframes at full tokens, other frames merged; patches stream from the cache a chunk
        at a time, so memory stays one chunk of frames however long the video is."""
        from framesift.compress import compress_frames

        merger = self._merger()
        patch_encoder = self.answerer.patch_encoder
        query = patch_encoder.embed_query(question) if merger.uses_query else None  # (D,)
        return compress_frames(
            patches, times, chosen, query, merger, keyframe_pool=self.config.keyframe_pool
        )


def as_source(video: str | os.PathLike | VideoSource) -> VideoSource:
    if isinstance(video, (str, os.PathLike)):
        return VideoFile(os.fspath(video))
    return video


def _scores_text(answerer: str) -> bool:
    """Whether the registered answerer class declares ``loglikelihood`` (``scores_text``)."""
    return bool(getattr(ANSWERERS.get(answerer), "scores_text", False))


def _token_counts(sequence: Any) -> dict[str, int]:
    key_tokens = int(sequence.is_keyframe_token.sum())
    return {
        "before": int(sequence.tokens_before),
        "after": len(sequence.embeddings),
        "keyframe_tokens": key_tokens,
        "merged_tokens": len(sequence.embeddings) - key_tokens,
    }


def ask(
    video: str | os.PathLike, question: str, options: list[str] | None = None, **config: Any
) -> AskResult:
    """One-shot convenience: ``ask("clip.mp4", "Is there a dog?", budget=4)``."""
    start, end = config.pop("start", None), config.pop("end", None)
    return Pipeline(**config).ask(video, question, options, start=start, end=end)


def check_question(question: str, options: list[str] | None) -> str:
    """The question stripped; one-line errors for what no answerer could use."""
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty; ask something about the video")
    if options is not None:
        if len(options) < 2:
            raise InputError(f"give at least two options to choose from, got {len(options)}")
        if len(options) > len(LETTERS):
            raise InputError(f"{len(options)} options; at most {len(LETTERS)} (one per letter A-Z)")
        if any(not isinstance(o, str) or not o.strip() for o in options):
            raise InputError("an option is empty; every option needs some text")
        seen: dict[str, int] = {}
        for i, option in enumerate(options):
            j = seen.setdefault(normalize_text(option), i)
            if j != i:
                raise InputError(f"options {j + 1} and {i + 1} are the same: {option!r}")
    return question.strip()


__all__ = ["AskResult", "Keyframe", "Pipeline", "PipelineConfig", "ask", "check_question"]
