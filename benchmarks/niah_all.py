"""V-NIAH for every selector and both kinds of answerer, all through the one ``Pipeline.ask``.

    python benchmarks/niah_all.py [--budget 8] [--threads 1]

Haystack: tests/assets/vtest.avi (real pedestrian footage) at 1 fps, looped. Needles: four
real photos from tests/assets, each with a four-option question, shown for 1 s. Encoder: the
offline bundled one. Selectors:

- uniform, topk, bolt, aks, dks: as in benchmarks/niah_real.py;
- ``vila:CKPT``: a ViLA Frame-Prompter trained in this run (CPU, seconds) on clips of the same
  footage showing four OTHER photos from tests/assets (``needle_clips``), so it is tested on
  needles it never saw; also on haystacks of its own pool size (T candidates), next to
  uniform and dks;
- ``vlm-localizer:FOLDER``: SeViLA's per-frame localizer on a tiny RANDOM LLaVA-OneVision
  built from a config and saved to a folder (tests/tiny_models.py); its retrieval is expected
  at chance: the point is that a selector reading the haystack's pixels runs unchanged.

Answerers: ``similarity`` (offline), and ``llava-ov:FOLDER`` on the same tiny random model
(likelihood mode, so every question gets an option), which reads the haystack's composed patch
tokens (footage tokens from the patch cache, the needle's inserted) through the compress stage.
The localizer and LLaVA-OV rows use shorter haystacks (a VLM pass per frame, a token
sequence per question). Writes benchmarks/results/niah_all.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ASSETS = HERE.parent / "tests" / "assets"
WORK = HERE / ".media" / "niah_all"
ANIMALS = ["a dog", "a cat", "a fish", "a bird"]
FRUIT = ["an apple", "an orange", "a banana", "a pineapple"]
NEEDLES = [
    ("chicky_512.png", "Which animal appears in the video?", ANIMALS, "a dog"),
    ("orange.jpg", "Which fruit is shown?", FRUIT, "an orange"),
    ("apple.jpg", "Which fruit is shown?", FRUIT, "an apple"),
    ("HappyFish.jpg", "Which animal appears in the video?", ANIMALS, "a fish"),
]
# ViLA's training photos: none of them is a needle above
TRAINING_PHOTOS = {
    "building.jpg": "an office building",
    "home.jpg": "a palace roof",
    "fruits.jpg": "sliced citrus fruit",
    "smarties.png": "coloured candies",
}
FAST = ("uniform", "topk", "bolt", "aks", "dks")
LONG, SHORT = (600, 1800, 3600), (120, 600)
DEPTHS, FEW_DEPTHS = (0.0, 0.25, 0.5, 0.75, 1.0), (0.0, 0.5, 1.0)
PROMPTER_FRAMES, PROMPTER_PICKS = 16, 4  # ViLA's T and S


def make_needles(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for image, *_ in NEEDLES:
        shutil.copy(ASSETS / image, folder / image)
    entries = [{"image": i, "question": q, "options": o, "answer": a} for i, q, o, a in NEEDLES]
    (folder / "needles.json").write_text(json.dumps(entries, indent=1))
    return folder


def train_prompter(cache: Path) -> tuple[Path, dict]:
    """A small ViLA (T frames, S segments) trained on needle clips of the footage."""
    from framesift.eval.niah import needle_clips
    from framesift.vila.config import TrainConfig, ViLAConfig
    from framesift.vila.train import train_vila

    photos = {ASSETS / name: label for name, label in TRAINING_PHOTOS.items()}
    footage = str(ASSETS / "vtest.avi")
    data = needle_clips(footage, photos, WORK / "clips", clips=16, frames=PROMPTER_FRAMES)
    config = TrainConfig(
        benchmark="generic",
        annotations=str(data / "train.jsonl"),
        videos=str(data / "videos"),
        val_annotations=str(data / "train.jsonl"),
        out=str(WORK / "vila"),
        cache_dir=str(cache),
        teacher_epochs=8,
        student_epochs=8,
        batch_size=4,
        device="cpu",
        model=ViLAConfig(
            teacher_frames=PROMPTER_FRAMES,
            segments=PROMPTER_PICKS,
            n_query=2,
            hidden=32,
            n_layer=1,
            prompter_hidden=32,
        ),
    )
    summary = train_vila(config)
    return WORK / "vila" / "model", summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    sys.path.insert(0, str(HERE.parent / "tests"))  # the tests' tiny-model builders
    from tiny_models import save_tiny_llava_onevision

    from framesift import Pipeline
    from framesift.encode import build_encoder
    from framesift.eval.niah import NIAHConfig, run_niah, short_name

    torch.set_num_threads(args.threads)
    shutil.rmtree(WORK, ignore_errors=True)  # a fresh run: caches, clips, checkpoint
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    cache = WORK / "cache"
    needles = make_needles(WORK / "needles")
    checkpoint, training = train_prompter(cache)
    llava = save_tiny_llava_onevision(WORK / "llava-ov-tiny")
    vila, localizer, llava_ov = f"vila:{checkpoint}", f"vlm-localizer:{llava}", f"llava-ov:{llava}"
    runs = [  # (answerer, selectors, lengths, depths)
        ("similarity", (*FAST, vila), LONG, DEPTHS),
        ("similarity", ("uniform", "dks", vila), (PROMPTER_FRAMES - 1,), DEPTHS),
        ("similarity", (localizer,), SHORT[:1], FEW_DEPTHS),
        (llava_ov, ("uniform", "dks", vila), SHORT, FEW_DEPTHS),
        (llava_ov, (localizer,), SHORT[:1], FEW_DEPTHS),
    ]
    encoder = build_encoder("bundled")
    table, footage_seconds, llava_letters = [], [], set()
    for i, (answerer, selectors, lengths, depths) in enumerate(runs):
        reads_tokens = answerer.startswith("llava-ov")
        pipeline = Pipeline(
            encoder=encoder,
            answerer=answerer,
            budget=args.budget,
            params={"answerer": {"mode": "likelihood"}} if reads_tokens else {},
            device="cpu",
            cache_dir=str(cache),
        )
        config = NIAHConfig(
            haystack=str(ASSETS / "vtest.avi"),
            needles=str(needles),
            out=str(WORK / f"run{i}"),
            lengths=lengths,
            depths=depths,
            selectors=selectors,
        )
        results = run_niah(config, pipeline)
        footage_seconds.append(results["haystack_encoding_seconds"])
        samples = [json.loads(x) for x in (WORK / f"run{i}" / "samples.jsonl").open()]
        if reads_tokens:
            options = {needle: opts for needle, _, opts, _ in NEEDLES}
            llava_letters |= {"ABCD"[options[x["needle"]].index(x["prediction"])] for x in samples}
        for name, r in results["selectors"].items():
            mine = [x for x in samples if x["selector"] == name]
            # a random pick of as many frames finds the 1-frame needle with this probability
            chance = np.mean([len(x["keyframes"]) / (x["length"] + 1) for x in mine])
            table.append(
                f"| {short_name(name)} | {short_name(answerer)} | "
                f"{', '.join(map(str, lengths))} | {', '.join(f'{d:g}' for d in depths)} | "
                f"{r['n']} | {r['retrieval']:.1%} | {chance:.1%} | {r['accuracy']:.1%} | "
                f"{r['ms_per_question']:.1f} |"
            )
    total = time.perf_counter() - started

    lines = [
        "# V-NIAH for every selector, through the one Pipeline",
        "",
        f"Haystack: tests/assets/vtest.avi at 1 fps ({results['footage_frames']} real frames) "
        f"looped to each length; {len(NEEDLES)} real photos from tests/assets as needles "
        f"({', '.join(n for n, *_ in NEEDLES)}; 1 s each, four options); budget K = "
        f"{args.budget} for every selector; bundled encoder; CPU, torch threads {args.threads}, "
        f"on a 2-core machine shared with other jobs (load average {load_before:.1f} at the "
        f"start, {os.getloadavg()[0]:.1f} at the end: the ms are loaded-machine figures). "
        "Retrieval: a keyframe shows the needle; chance: what a random pick of as many "
        "frames would retrieve.",
        "",
        "| selector | answerer | haystack lengths | depths | questions | retrieval | chance "
        "| accuracy | select + compress + answer ms / question |",
        "|---|---|---|---|---|---|---|---|---|",
        *table,
        "",
        f"- `vila:model`: ViLA (T = {PROMPTER_FRAMES} candidates, S = {PROMPTER_PICKS} picks, "
        f"Q-Former width 32) trained in this run for {training['train_seconds']:.0f} s on "
        f"{training['train_questions']} clips of the same footage showing "
        f"{len(TRAINING_PHOTOS)} other photos ({', '.join(TRAINING_PHOTOS)}; student accuracy "
        f"on those clips {training['student_val_accuracy']:.0%}). It thins any pool to T "
        f"evenly spaced candidates first, so on long haystacks it sees the needle only when it "
        f"lands on one of them; the length-{PROMPTER_FRAMES - 1} rows (T candidates with the "
        "needle) show what the prompter itself picks.",
        "- `llava-ov-tiny`: the tests' tiny RANDOM LLaVA-OneVision (SigLIP on 40x40 frames, 9 "
        "tokens per frame, 2-layer Qwen2 of width 32): chance level by construction; the rows "
        "show that a selector reading the haystack's pixels and an answerer reading its tokens "
        "run unchanged. The localizer scores every candidate. LLaVA-OV answers by option "
        "likelihood from the keyframes' tokens (merge `drop`): footage tokens from the patch "
        "cache with the needle's inserted; with random weights it chose option "
        f"{' / '.join(sorted(llava_letters))} whatever it was shown.",
        "- Shorter haystacks for the slow rows: the localizer (a VLM pass per candidate) at "
        f"{SHORT[0]} only, LLaVA-OV up to {SHORT[-1]}. Footage encoding once per run "
        "(features; patch tokens too for LLaVA-OV): "
        f"{', '.join(f'{s:.1f}' for s in footage_seconds)} s. Whole benchmark, ViLA training "
        f"and model building included: {total:.0f} s.",
    ]
    text = "\n".join(lines) + "\n"
    (HERE / "results" / "niah_all.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
