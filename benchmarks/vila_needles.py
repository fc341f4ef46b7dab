"""ViLA on a needle task generated here: the answer hangs on one moment of a longer video.

    python benchmarks/vila_needles.py [--videos 60] [--threads 2]

Each 64 s video shows real footage with two real photos inserted (picture-in-picture, 2 s
each, at random times); each question lists four objects and asks which appears, exactly one
of them being a needle of that video. Train and validation use different photos AND different
footage: train = vtest.avi pedestrians with scikit-image / OpenCV photos A, validation = pans
over scikit-image textures with photos B. ViLA's setting: T = 32 candidate frames, the student
sees S = 4. Reports, from one run on the validation set through the evaluation harness:
accuracy of the student (learned prompter, distilled), uniform-4 and top-k-4 (same student
answer head), the student without distillation, and the T = 32 teacher; selection + answering
time per question as ratios; training time. A second validation set uses the training
photos on the validation footage, to separate what transfers from what was learned.
benchmarks/localizer_cost.py times SeViLA's localizer against the trained student. Writes
benchmarks/results/vila.md.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
ASSETS = HERE.parent / "tests" / "assets"
ROOT = HERE / ".media" / "vila"
FPS, SECONDS, W, H = 2, 64, 320, 240


def photos(split: str) -> dict[str, np.ndarray]:
    from skimage import data

    def asset(name):
        return np.asarray(Image.open(ASSETS / name).convert("RGB"))

    if split == "train":
        return {
            "a cat": data.chelsea(),
            "a cup of coffee": data.coffee(),
            "a rocket": data.rocket(),
            "an astronaut": data.astronaut(),
            "a motorcycle": data.stereo_motorcycle()[0],
            "a cartoon fish": asset("HappyFish.jpg"),
            "colourful candies": asset("smarties.png"),
            "an office building": asset("building.jpg"),
        }
    return {
        "a dog": asset("chicky_512.png"),
        "an apple": asset("apple.jpg"),
        "an orange": asset("orange.jpg"),
        "sliced lemons": asset("fruits.jpg"),
        "a palace roof": asset("home.jpg"),
    }


def footage(split: str, rng: random.Random):
    """An endless supply of real footage frames: vtest.avi (train) or photo pans (val)."""
    import av
    from skimage import data

    from framesift.synth import pan

    if split == "train":
        with av.open(str(ASSETS / "vtest.avi")) as c:
            frames = [f.to_ndarray(width=W, height=H, format="rgb24") for f in c.decode(video=0)]
        while True:
            start = rng.randrange(len(frames))
            yield from (frames[(start + 5 * i) % len(frames)] for i in range(40))
    scenes = ["brick", "grass", "gravel", "camera", "page", "text", "moon", "hubble_deep_field"]
    while True:
        yield from pan(getattr(data, rng.choice(scenes))(), W, H, 40)


def paste(frame: np.ndarray, photo: np.ndarray, rng: random.Random) -> np.ndarray:
    scale = rng.uniform(0.6, 0.95)
    h = int(H * scale)
    w = min(W, int(h * photo.shape[1] / photo.shape[0]))
    small = np.asarray(Image.fromarray(photo[..., :3]).resize((w, h)))
    y, x = rng.randrange(H - h + 1), rng.randrange(W - w + 1)
    out = frame.copy()
    out[y : y + h, x : x + w] = small
    return out


def make_split(split: str, n_videos: int, seed: int, photo_set: str, footage_set: str) -> Path:
    from framesift.synth import write_video

    folder = ROOT / split
    annotations = folder / "questions.jsonl"
    if annotations.exists():
        return annotations
    (folder / "videos").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pics = photos(photo_set)
    labels = sorted(pics)
    stream = footage(footage_set, rng)
    lines = []
    for v in range(n_videos):
        needles = rng.sample(labels, 2)
        starts = sorted(rng.sample(range(0, SECONDS - 2, 2), 2))
        shown = {
            s * FPS + k: label
            for s, label in zip(starts, needles, strict=True)
            for k in range(2 * FPS)
        }
        frames = [next(stream) for _ in range(SECONDS * FPS)]
        frames = [paste(f, pics[shown[i]], rng) if i in shown else f for i, f in enumerate(frames)]
        write_video(folder / "videos" / f"{split}{v:03d}.mp4", frames, FPS)
        absent = [x for x in labels if x not in needles]
        for q, needle in enumerate(needles):
            options = [needle, *rng.sample(absent, 3)]
            rng.shuffle(options)
            listed = ", ".join(options[:-1]) + " or " + options[-1]
            lines.append(
                {
                    "qid": f"{split}{v:03d}_{q}",
                    "video": f"{split}{v:03d}",
                    "question": f"Which of these appears in the video: {listed}?",
                    "options": options,
                    "answer": needle,
                }
            )
    annotations.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return annotations


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=60, help="training videos (2 questions each)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    from framesift.cli.main import main as cli

    torch.set_num_threads(args.threads)
    train = make_split("train", args.videos, seed=1, photo_set="train", footage_set="train")
    val = make_split("val", args.videos // 2, seed=2, photo_set="val", footage_set="val")
    # the same photos as training on the validation footage: what the models learned in-domain
    seen = make_split("val_seen", args.videos // 2, seed=3, photo_set="train", footage_set="val")
    for stale in [*ROOT.glob("run-*"), ROOT / "eval"]:  # fresh training and answers each run;
        shutil.rmtree(stale, ignore_errors=True)  # the videos and the feature cache are kept
    cache = str(ROOT / "cache")
    common = [
        "--benchmark",
        "generic",
        "--annotations",
        str(train),
        "--videos",
        str(train.parent / "videos"),
        "--val-annotations",
        str(val),
        "--val-videos",
        str(val.parent / "videos"),
        "--cache-dir",
        cache,
        "--threads",
        str(args.threads),
    ]
    runs = {}
    for name, extra in (("distilled", []), ("no-distill", ["--no-distill"])):
        out = ROOT / f"run-{name}"
        t0 = time.perf_counter()
        assert cli(["train", "vila", *common, "--out", str(out), *extra]) == 0
        runs[name] = (out, time.perf_counter() - t0)
    model = runs["distilled"][0] / "model"
    plain = runs["no-distill"][0] / "model"
    evals = {
        "student S=4 (prompter, distilled)": [
            f"--selector=vila:{model}",
            f"--answerer=vila:{model}",
            "--budget=4",
        ],
        "uniform S=4 (student head)": [
            "--selector=uniform",
            f"--answerer=vila:{model}",
            "--budget=4",
        ],
        "top-k S=4 (student head)": ["--selector=topk", f"--answerer=vila:{model}", "--budget=4"],
        "student S=4 without distillation": [
            f"--selector=vila:{plain}",
            f"--answerer=vila:{plain}",
            "--budget=4",
        ],
        "teacher T=32": ["--selector=uniform", f"--answerer=vila-teacher:{model}", "--budget=32"],
    }
    for split in (val, seen):  # build every video's patch-token file first: timings below are
        warm_out = ROOT / "eval" / f"warm-{split.parent.name}"
        warm = ["eval", "--benchmark", "generic", "--annotations", str(split), "--videos",
                str(split.parent / "videos"), "--out", str(warm_out),
                "--frames", "32", "--cache-dir", cache, *evals["teacher T=32"]]  # fmt: skip
        assert cli(warm) == 0  # per question on cached features, as for every later question
    rows = {}
    for label, extra in evals.items():
        accuracies = []
        for split in (val, seen):
            name = label.split(" (")[0].replace(" ", "-").replace("=", "")
            out = ROOT / "eval" / f"{split.parent.name}-{name}"
            args_eval = ["eval", "--benchmark", "generic", "--annotations", str(split),
                         "--videos", str(split.parent / "videos"), "--out", str(out),
                         "--frames", "32", "--cache-dir", cache, *extra]  # fmt: skip
            assert cli(args_eval) == 0
            r = json.loads((out / "results.json").read_text())["results"]["generic"]
            accuracies.append(r["accuracy"])
            if split == val:
                lat, n = r["latency_seconds"], r["n"]
                cost = sum(lat[k]["median"] for k in ("select", "compress", "answer") if k in lat)
        rows[label] = (*accuracies, n, cost)
    summary = json.loads((runs["distilled"][0] / "summary.json").read_text())
    plain_summary = json.loads((runs["no-distill"][0] / "summary.json").read_text())
    student_cost = rows["student S=4 (prompter, distilled)"][3]
    lines = [
        "# ViLA on a generated needle task (bundled encoder, offline)",
        "",
        f"Train: {summary['train_questions']} questions on vtest.avi footage with photos A. "
        f"Validation: {summary['val_questions']} questions on scikit-image pans with photos B "
        "(different photos, different footage), and as many on the same pans with photos A. "
        f"T = 32 candidates, S = 4, torch threads {args.threads}. Latency: median select + "
        "compress + answer per question on the first validation set, features cached.",
        "",
        "| model | val: new photos + footage | val: train photos, new footage | n "
        "| select + answer (ms) | vs student |",
        "|---|---|---|---|---|---|",
    ]
    for label, (acc, acc_seen, n, cost) in rows.items():
        lines.append(f"| {label} | {acc:.1%} | {acc_seen:.1%} | {n} | {1000 * cost:.1f} "
                     f"| {cost / student_cost:.2f}x |")  # fmt: skip
    lines += [
        "",
        f"Training on this machine ({args.threads} threads): teacher + student stages "
        f"{summary['train_seconds']:.0f} s for the distilled run, "
        f"{plain_summary['train_seconds']:.0f} s without distillation (epoch times, so a "
        "resumed run reports the same); features are encoded once beforehand (about 30 s "
        "for 180 questions, then cached).",
    ]
    (HERE / "results" / "vila.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
