"""Visual needle-in-a-haystack (after LongVA's V-NIAH), over real footage.

A needle is a photo with a question about it. It is inserted for ``needle_seconds`` at a
depth (0 = start, 1 = end) into a haystack of ``length`` candidate frames of real footage
(looped when the footage is shorter), and every selector is asked the question at the same
budget. Two outcomes are kept apart: *retrieval* (a selected keyframe shows the needle) and
*accuracy* (the answer is right).

Haystacks are built in feature space, not re-encoded: framesift's encoders see each frame on
its own, so the features of "footage looped to N frames with the needle inserted at depth d"
are the cached footage features tiled to N with the needle frame's features inserted. That is
exact up to codec artefacts on the needle frame (``test_niah`` checks it against a really
rendered video) and makes a 3,600-frame haystack cost one footage encoding for every
length, depth, needle and selector. A ``Haystack`` is a ``VideoSource``: every question goes
through ``Pipeline.ask`` like any other, so every selector (a VLM localizer reads the
haystack's pixels, a learned prompter its features) and every answerer (token readers get
the footage's cached patch tokens with the needle's inserted) works here too.

With the change detector on (``reuse_threshold``), the footage rows are those of the footage
encoded with it; a rendered haystack would differ only where its sequence differs from the
footage's: the first footage frame after the needle and after each loop seam is compared with
the needle (or the footage's end) there, so it would be encoded afresh where this reuses.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from framesift.decode import FrameBatch, Resize, Sampling, probe
from framesift.encode import Encoder, PatchEncoder
from framesift.errors import InputError
from framesift.eval.samples import normalize_answer
from framesift.pipeline import Pipeline, PipelineConfig
from framesift.select import SELECTORS
from framesift.source import Extraction, VideoFile

NEEDLES_FILE = "needles.json"
DECODE_CHUNK = 128  # haystack candidates whose pixels are decoded in one pass


@dataclass(frozen=True)
class Needle:
    image: Path
    question: str
    options: tuple[str, ...]
    answer: int


def load_needles(folder: Path) -> list[Needle]:
    """``folder/needles.json``: ``[{"image", "question", "options", "answer"}, ...]``, answer as
    a letter, index or option text; images relative to the folder."""
    path = folder / NEEDLES_FILE
    if not path.is_file():
        raise InputError(f"{path} not found: a needle folder holds images and {NEEDLES_FILE}")
    needles = []
    for i, entry in enumerate(json.loads(path.read_text())):
        try:
            options = tuple(entry["options"])
            needle = Needle(
                image=folder / entry["image"],
                question=entry["question"],
                options=options,
                answer=normalize_answer(entry["answer"], options),
            )
        except (KeyError, TypeError) as exc:
            raise InputError(f"{path}: entry {i} needs image, question, options, answer") from exc
        if not needle.image.is_file():
            raise InputError(f"{path}: entry {i}: image {needle.image} not found")
        needles.append(needle)
    return needles


def needle_clips(
    footage: str,
    photos: Mapping[Path, str],
    folder: Path,
    *,
    clips: int = 8,
    frames: int = 16,
    fps: float = 4.0,
    span: int = 2,
    seed: int = 0,
) -> Path:
    """Training data for a ViLA prompter that looks for needles, written under ``folder``.

    ``clips`` stretches of ``footage`` (``frames`` frames at ``fps``, spread over the footage),
    each showing one of ``photos`` (image path -> what it shows, e.g. "an apple") for ``span``
    frames at a random place, with one two-option question ("Which appears in the video: X or
    Y?") per clip: ``folder/videos/clipN.mp4`` and ``folder/train.jsonl`` in the generic
    annotation format ``framesift train vila`` reads. Train on other photos than the needles a
    haystack is then tested with, or retrieval measures memory.
    """
    from PIL import Image

    from framesift.decode import decode_frames
    from framesift.synth import fit, write_video

    labels = list(photos.values())
    if len(set(labels)) < 2:
        raise InputError("needle_clips needs photos of at least two different things")
    if not 1 <= span < frames:
        raise InputError(f"span must be 1 to frames - 1 = {frames - 1}, got {span}")
    info = probe(footage)
    width, height = info.width // 2 * 2, info.height // 2 * 2  # H.264 wants even sides
    seconds = frames / fps
    if info.duration < seconds:
        raise InputError(f"{footage} lasts {info.duration:.1f} s, less than a {seconds:g} s clip")
    pictures = [fit(np.asarray(Image.open(path).convert("RGB")), width, height) for path in photos]
    rng = np.random.default_rng(seed)
    (folder / "videos").mkdir(parents=True, exist_ok=True)
    lines = []
    for c, start in enumerate(np.linspace(0, info.duration - seconds, clips)):
        shown = c % len(pictures)
        sampling = Sampling(fps=fps, start=float(start), end=float(start) + seconds)
        batches = decode_frames(footage, sampling, Resize(width, height))
        footage_frames = np.concatenate([b.pixels for b in batches])[:frames]  # (T, H, W, 3)
        at = int(rng.integers(0, len(footage_frames) - span + 1))
        footage_frames[at : at + span] = pictures[shown]
        write_video(folder / "videos" / f"clip{c}.mp4", footage_frames, fps=fps)
        others = [label for label in dict.fromkeys(labels) if label != labels[shown]]
        other = others[int(rng.integers(0, len(others)))]
        options = [labels[shown], other][:: 1 if rng.random() < 0.5 else -1]
        question = f"Which appears in the video: {options[0]} or {options[1]}?"
        lines.append(
            {"qid": f"clip{c}", "video": f"clip{c}", "question": question,
             "options": options, "answer": labels[shown]}
        )  # fmt: skip
    (folder / "train.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return folder


@dataclass(frozen=True)
class NIAHConfig:
    haystack: str
    needles: str
    out: str
    lengths: tuple[int, ...] = (600, 1800, 3600)
    depths: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    selectors: tuple[str, ...] = ("uniform", "topk", "bolt", "aks", "dks")
    needle_seconds: float = 1.0

    def __post_init__(self) -> None:
        if not self.lengths or min(self.lengths) < 1:
            raise InputError(f"lengths must be positive frame counts, got {self.lengths}")
        if not self.depths or not all(0 <= d <= 1 for d in self.depths):
            raise InputError(f"depths must lie in [0, 1], got {self.depths}")
        for name in self.selectors:
            SELECTORS.check(name)


def needle_frame(image: Path, haystack: str, resize) -> np.ndarray:
    """The needle as a frame of the haystack would show it: letterboxed, then resized."""
    import av
    from PIL import Image

    from framesift.decode.resize import to_rgb
    from framesift.synth import fit

    info = probe(haystack)
    frame = fit(np.asarray(Image.open(image).convert("RGB")), info.width, info.height)
    return to_rgb(av.VideoFrame.from_ndarray(frame, format="rgb24"), resize)  # as decoded


@dataclass
class Haystack:
    """Footage looped to ``length`` candidates with a needle shown for ``span`` of them from
    position ``at``: a ``VideoSource`` built from the footage's cache entries, never written.

    Candidate i < at is footage frame i mod F; at <= i < at + span is the needle; later ones
    are footage frame (i - span) mod F, F the footage's frames at ``fps``. Times are i / fps.
    The haystack is its own candidate pool: the ``sampling`` a pipeline passes is not used.
    """

    footage: str
    needle: Path
    length: int
    at: int
    span: int
    fps: float

    @property
    def name(self) -> str:
        return f"{self.footage}+{self.needle.name}@{self.at}/{self.length + self.span}"

    def footage_index(self) -> np.ndarray:
        """(L + span,) footage frame of each candidate, -1 for the needle."""
        i = np.arange(self.length + self.span)
        shifted = np.where(i < self.at, i, i - self.span)
        return np.where((i >= self.at) & (i < self.at + self.span), -1, shifted)

    def extract(
        self,
        sampling: Sampling,
        encoder: Encoder,
        cache: Any,
        *,
        patch_encoder: PatchEncoder | None = None,
        progress: Any = False,
        reuse_threshold: float | None = None,
    ) -> Extraction:
        base = VideoFile(self.footage).extract(
            Sampling(fps=self.fps),
            encoder,
            cache,
            patch_encoder=patch_encoder,
            progress=progress,
            reuse_threshold=reuse_threshold,
        )
        n_footage = len(base.features.times)
        where = self.footage_index()
        rows = np.where(where < 0, -1, where % n_footage)  # (L + span,) footage rows
        needle = _needle_embedding(encoder, self.needle, self.footage)  # (D,)
        embeddings = np.where(
            (rows < 0)[:, None], needle[None], base.features.embeddings[np.maximum(rows, 0)]
        )
        features = type(base.features)(
            times=np.arange(len(rows)) / self.fps, embeddings=embeddings.astype(np.float32)
        )
        patches = None
        if patch_encoder is not None:
            needle_tokens = _needle_patches(patch_encoder, self.needle, self.footage)  # (P, D)
            patches = ComposedRows(base.patches, rows, needle_tokens)
        return Extraction(
            features=features,
            patches=patches,
            cached=base.cached,
            decode_s=base.decode_s,
            encode_s=base.encode_s,
            reused=base.reused,
        )

    def is_extracted(
        self, sampling, encoder, cache, *, patch_encoder=None, reuse_threshold=None
    ) -> bool:
        return VideoFile(self.footage).is_extracted(
            Sampling(fps=self.fps),
            encoder,
            cache,
            patch_encoder=patch_encoder,
            reuse_threshold=reuse_threshold,
        )

    def frames(self, times: np.ndarray) -> HaystackFrames:
        return HaystackFrames(self)

    def _needle_pixels(self, resize: Resize) -> np.ndarray:
        return needle_frame(self.needle, self.footage, resize)


@dataclass
class HaystackFrames:
    """Pixels of a haystack's candidates: footage frames re-decoded (checked to be the cached
    candidates' own frames), the needle rendered.

    Footage frames are decoded ``DECODE_CHUNK`` candidates at a time, each distinct frame once
    and in increasing time (one pass over the file per chunk, not one seek per batch), and
    handed out ``batch_size`` at a time in the order asked.
    """

    haystack: Haystack

    def read(
        self, indices: np.ndarray, resize: Resize, batch_size: int = 16
    ) -> Iterator[FrameBatch]:
        hay = self.haystack
        indices = np.asarray(indices, dtype=np.int64)  # (M,)
        where = hay.footage_index()[indices]  # (M,) footage frame, -1 for the needle
        footage_times = _footage_times(hay.footage, hay.fps)  # (F,)
        footage = VideoFile(hay.footage).frames(footage_times)
        needle = hay._needle_pixels(resize)  # (H, W, 3)
        chunk = max(DECODE_CHUNK // batch_size, 1) * batch_size
        for start in range(0, len(where), chunk):
            part = where[start : start + chunk]
            pixels = np.empty((len(part), *needle.shape), dtype=np.uint8)
            pixels[part < 0] = needle
            shown = part >= 0
            if shown.any():
                rows, inverse = np.unique(part[shown] % len(footage_times), return_inverse=True)
                decoded = np.concatenate([b.pixels for b in footage.read(rows, resize)])
                pixels[shown] = decoded[inverse]
            times = indices[start : start + chunk] / hay.fps  # (B,) the haystack's own times
            for i in range(0, len(part), batch_size):
                yield FrameBatch(times[i : i + batch_size], pixels[i : i + batch_size])


class ComposedRows:
    """Patch tokens of a haystack: rows of the footage's patch file, the needle's inserted."""

    def __init__(self, footage: Any, rows: np.ndarray, needle: np.ndarray):
        self.footage, self.rows, self.needle = footage, rows, needle  # needle: (P, D)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: slice | np.ndarray) -> np.ndarray:
        rows = self.rows[index] if isinstance(index, slice) else self.rows[np.asarray(index)]
        rows = np.atleast_1d(rows)
        out = np.empty((len(rows), *self.needle.shape), dtype=np.float32)
        real = rows >= 0
        if real.any():
            out[real] = self.footage[rows[real]]
        out[~real] = self.needle
        return out  # (B, P, D)

    def close(self) -> None:
        self.footage.close()


_needle_cache: dict[tuple, np.ndarray] = {}


def _needle_embedding(encoder: Encoder, image: Path, footage: str) -> np.ndarray:
    """(D,) the needle frame's embedding, computed once per encoder, needle and footage."""
    key = ("embedding", encoder.info.name, encoder.info.resize, str(image), footage)
    if key not in _needle_cache:
        pixels = needle_frame(image, footage, encoder.info.resize)[None]
        _needle_cache[key] = encoder.encode_frames(pixels).embeddings[0]
    return _needle_cache[key]


def _needle_patches(encoder: PatchEncoder, image: Path, footage: str) -> np.ndarray:
    """(P, D) float32 the needle frame's patch tokens, computed once per patch encoder."""
    key = ("patches", encoder.name, encoder.resize, str(image), footage)
    if key not in _needle_cache:
        pixels = needle_frame(image, footage, encoder.resize)[None]
        _needle_cache[key] = np.asarray(encoder.encode_patches(pixels)[0], dtype=np.float32)
    return _needle_cache[key]


_times_cache: dict[tuple, np.ndarray] = {}


def _footage_times(footage: str, fps: float) -> np.ndarray:
    """The footage's candidate times at ``fps`` (as its cache entry holds them)."""
    key = (footage, fps)
    if key not in _times_cache:
        from framesift.decode import decode_frames

        times = [b.times for b in decode_frames(footage, Sampling(fps=fps), Resize(16, 16))]
        _times_cache[key] = np.concatenate(times)
    return _times_cache[key]


def run_niah(config: NIAHConfig, pipeline: Pipeline) -> dict[str, Any]:
    """Every needle at every length and depth, asked of every selector through ``pipeline``."""
    from tqdm.auto import tqdm

    out = Path(config.out)
    needles = load_needles(Path(config.needles))
    if pipeline.config.frames is not None:
        raise InputError(
            "a haystack's candidates are its footage at --fps, looped to each length; drop --frames"
        )
    fps = pipeline.config.fps
    pipeline.load()  # model weights: not part of the haystack's cost
    t0 = time.perf_counter()
    # the footage's features (and patch tokens, for an answerer that reads them), once for all
    pipeline.index(Haystack(config.haystack, needles[0].image, 1, 0, 1, fps))
    haystack_seconds = time.perf_counter() - t0
    footage_frames = len(pipeline.relevance(config.haystack, "footage")[0])
    span = max(1, round(config.needle_seconds * fps))  # candidate frames the needle occupies
    rows = []
    total = len(needles) * len(config.lengths) * len(config.depths) * len(config.selectors)
    with tqdm(total=total, unit="q", desc="niah") as bar:
        for needle in needles:
            for length in config.lengths:
                for depth in config.depths:
                    at = round(depth * length)
                    hay = Haystack(config.haystack, needle.image, length, at, span, fps)
                    for name in config.selectors:
                        result = pipeline.ask(
                            hay, needle.question, list(needle.options), selector=name
                        )
                        chosen = np.array([k.index for k in result.keyframes], dtype=np.int64)
                        t = result.timings
                        rows.append(
                            {
                                "needle": needle.image.name,
                                "length": length,
                                "depth": depth,
                                "selector": name,
                                "retrieved": bool(((chosen >= at) & (chosen < at + span)).any()),
                                "correct": result.answer_index == needle.answer,
                                "prediction": result.answer,
                                "keyframes": chosen.tolist(),
                                "seconds": t["select"] + t["compress"] + t["answer"],
                            }
                        )
                        bar.update()
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "samples.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    results = summarise(rows, config, haystack_seconds, footage_frames, pipeline.config)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    plot_heatmaps(results, out / "heatmap.png")
    return results


def summarise(
    rows: list[dict],
    config: NIAHConfig,
    haystack_seconds: float,
    footage_frames: int,
    pipeline: PipelineConfig,
) -> dict[str, Any]:
    per_selector = {}
    for name in config.selectors:
        mine = [r for r in rows if r["selector"] == name]
        grid = {
            f"{length}@{depth:g}": _rates(
                [r for r in mine if r["length"] == length and r["depth"] == depth]
            )
            for length in config.lengths
            for depth in config.depths
        }
        per_selector[name] = {
            **_rates(mine),
            "ms_per_question": 1000 * float(np.mean([r["seconds"] for r in mine])),
            "grid": grid,
        }
    return {
        "selectors": per_selector,
        "lengths": list(config.lengths),
        "depths": list(config.depths),
        "config": {
            "haystack": config.haystack,
            "needles": config.needles,
            "needle_seconds": config.needle_seconds,
            "encoder": pipeline.encoder,
            "answerer": pipeline.answerer,
            "budget": pipeline.budget,
            "fps": pipeline.fps,
            "reuse_threshold": pipeline.reuse_threshold,
        },
        "haystack_encoding_seconds": haystack_seconds,
        "footage_frames": footage_frames,
    }


def _rates(rows: list[dict]) -> dict[str, float]:
    return {
        "retrieval": float(np.mean([r["retrieved"] for r in rows])),
        "accuracy": float(np.mean([r["correct"] for r in rows])),
        "n": len(rows),
    }


def plot_heatmaps(results: dict[str, Any], path: Path) -> None:
    """One panel per selector: accuracy per (length, depth), retrieval rate in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, lengths, depths = list(results["selectors"]), results["lengths"], results["depths"]
    fig, axes = plt.subplots(
        1, len(names), figsize=(3.2 * len(names), 0.6 * len(lengths) + 2), squeeze=False
    )
    for ax, name in zip(axes[0], names, strict=True):
        grid = results["selectors"][name]["grid"]
        acc = np.array([[grid[f"{n}@{d:g}"]["accuracy"] for d in depths] for n in lengths])
        ret = np.array([[grid[f"{n}@{d:g}"]["retrieval"] for d in depths] for n in lengths])
        ax.imshow(acc, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
        for (i, j), value in np.ndenumerate(ret):
            ax.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(depths)), [f"{d:g}" for d in depths])
        ax.set_yticks(range(len(lengths)), [str(n) for n in lengths])
        ax.set_xlabel("needle depth")
        accuracy = results["selectors"][name]["accuracy"]
        ax.set_title(f"{short_name(name)}: acc {accuracy:.0%}", fontsize=9)
    axes[0][0].set_ylabel("haystack frames")
    fig.suptitle("V-NIAH accuracy (colour) and retrieval (cell text)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def short_name(spec: str) -> str:
    """A part's name for a table or a plot: a path argument shortened to its last component
    (``vila:/runs/needles/model`` -> ``vila:model``)."""
    name, sep, argument = spec.partition(":")
    return f"{name}:{Path(argument).name}" if sep else name
