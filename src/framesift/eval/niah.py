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
length, depth, needle and selector.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from framesift.answer import Evidence
from framesift.decode import Sampling, probe
from framesift.errors import InputError
from framesift.eval.samples import normalize_answer
from framesift.features import extract_features
from framesift.pipeline import Pipeline
from framesift.select import SELECTORS

NEEDLES_FILE = "needles.json"


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
            SELECTORS.get(name)


def needle_frame(image: Path, haystack: str, resize) -> np.ndarray:
    """The needle as a frame of the haystack would show it: letterboxed, then resized."""
    import av
    from PIL import Image

    from framesift.decode.resize import to_rgb
    from framesift.synth import fit

    info = probe(haystack)
    frame = fit(np.asarray(Image.open(image).convert("RGB")), info.width, info.height)
    return to_rgb(av.VideoFrame.from_ndarray(frame, format="rgb24"), resize)  # as decoded


def run_niah(config: NIAHConfig, pipeline: Pipeline) -> dict[str, Any]:
    from tqdm.auto import tqdm

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    needles = load_needles(Path(config.needles))
    encoder = pipeline.encoder
    fps = pipeline.config.fps
    t0 = time.perf_counter()
    footage = extract_features(
        config.haystack, Sampling(fps=fps), encoder, pipeline.cache, progress=True
    ).features
    haystack_seconds = time.perf_counter() - t0
    span = max(1, round(config.needle_seconds * fps))  # candidate frames the needle occupies
    pixels = np.stack(
        [needle_frame(n.image, config.haystack, encoder.info.resize) for n in needles]
    )
    needle_embeddings = encoder.encode_frames(pixels).embeddings  # (n_needles, D)
    answerer = pipeline.answerer
    rows = []
    total = len(needles) * len(config.lengths) * len(config.depths) * len(config.selectors)
    with tqdm(total=total, unit="q", desc="niah") as bar:
        for n, needle in enumerate(needles):
            query = encoder.encode_text([needle.question])[0]  # (D,)
            for length in config.lengths:
                hay = footage.embeddings[np.arange(length) % len(footage.embeddings)]  # (L, D)
                for depth in config.depths:
                    at = round(depth * length)
                    block = np.repeat(needle_embeddings[n : n + 1], span, axis=0)  # (span, D)
                    frames = np.concatenate([hay[:at], block, hay[at:]])  # (L + span, D)
                    relevance = frames @ query
                    for name in config.selectors:
                        selector = pipeline.build_selector(name)
                        t1 = time.perf_counter()
                        chosen = selector.select(relevance, frames, pipeline.config.budget)
                        evidence = Evidence(
                            video=config.haystack,
                            times=chosen / fps,
                            embeddings=frames[chosen],
                            scores=relevance[chosen],
                        )
                        answer = answerer.answer(needle.question, list(needle.options), evidence)
                        seconds = time.perf_counter() - t1
                        rows.append(
                            {
                                "needle": needle.image.name,
                                "length": length,
                                "depth": depth,
                                "selector": name,
                                "retrieved": bool(((chosen >= at) & (chosen < at + span)).any()),
                                "correct": answer.index == needle.answer,
                                "prediction": answer.text,
                                "keyframes": chosen.tolist(),
                                "seconds": seconds,
                            }
                        )
                        bar.update()
    with open(out / "samples.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    results = summarise(rows, config, haystack_seconds, len(footage.times))
    (out / "results.json").write_text(json.dumps(results, indent=1))
    plot_heatmaps(results, out / "heatmap.png")
    return results


def summarise(
    rows: list[dict], config: NIAHConfig, haystack_seconds: float, footage_frames: int
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
        ax.set_title(f"{name}: acc {results['selectors'][name]['accuracy']:.0%}", fontsize=9)
    axes[0][0].set_ylabel("haystack frames")
    fig.suptitle("V-NIAH accuracy (colour) and retrieval (cell text)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
