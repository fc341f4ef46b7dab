"""``framesift demo``: real photos hidden at known times in a generated video, then found.

Footage: slow pans across scikit-image's bundled photos (a cameraman, bricks, grass, the
moon...). Needles: three other scikit-image photos (a cat, a cup of coffee, a rocket) each
shown for a few seconds. Every question should put its top keyframe inside its needle.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from framesift.pipeline import AskResult, Pipeline
from framesift.synth import fit, pan, write_video

WIDTH, HEIGHT, FPS = 320, 240, 10
FOOTAGE = ["camera", "brick", "grass", "gravel", "hubble_deep_field", "page", "moon", "text"]
SCENE_SECONDS = 7.5


@dataclass(frozen=True)
class Needle:
    photo: str  # a scikit-image data function
    start: float  # seconds
    seconds: float
    question: str
    options: tuple[str, ...] = ()
    answer: str = ""

    def covers(self, t: float) -> bool:
        return self.start <= t < self.start + self.seconds


NEEDLES = (
    Needle("chelsea", 11.0, 3.0, "Where is the cat?"),
    Needle("coffee", 29.0, 3.0, "When is a cup of coffee shown?"),
    Needle(
        "rocket",
        46.0,
        3.0,
        "What flies into the sky in this video?",
        ("a bird", "a rocket", "a plane", "a balloon"),
        "a rocket",
    ),
)


@dataclass
class DemoOutcome:
    needle: Needle
    result: AskResult

    @property
    def found(self) -> bool:
        top = max(self.result.keyframes, key=lambda k: k.score)
        return self.needle.covers(top.time) and (
            not self.needle.answer or self.result.answer == self.needle.answer
        )


def build_demo_video(path: str | os.PathLike) -> tuple[Needle, ...]:
    """Write the demo video to ``path``; returns where the needles are."""
    write_video(path, _frames(), FPS)
    return NEEDLES


def run_demo(path: str | os.PathLike, pipeline: Pipeline) -> list[DemoOutcome]:
    needles = build_demo_video(path)
    return [
        DemoOutcome(n, pipeline.ask(path, n.question, list(n.options) or None)) for n in needles
    ]


def _frames() -> Iterable[np.ndarray]:
    from skimage import data

    total = int(len(FOOTAGE) * SCENE_SECONDS * FPS)
    per_scene = int(SCENE_SECONDS * FPS)
    scenes = (
        frame for name in FOOTAGE for frame in pan(getattr(data, name)(), WIDTH, HEIGHT, per_scene)
    )
    photos = {n.photo: fit(getattr(data, n.photo)(), WIDTH, HEIGHT) for n in NEEDLES}
    for i, background in zip(range(total), scenes, strict=False):
        t = i / FPS
        shown = next((n for n in NEEDLES if n.covers(t)), None)
        yield photos[shown.photo] if shown else background
