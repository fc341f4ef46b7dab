"""V-NIAH on real footage with real photos: uniform, top-k, BOLT, AKS and DKS at one budget.

    python benchmarks/niah_real.py [--budget 8] [--threads 2]

Haystack: tests/assets/vtest.avi (real pedestrian footage) at 1 fps, looped to 600, 1,800
and 3,600 frames. Needles: six real photos (three from tests/assets, three from
scikit-image), each with a multiple-choice question, inserted for 1 s at depths 0, 0.25, 0.5,
0.75 and 1. Encoder and answerer: the offline bundled ones. Writes benchmarks/results/niah.md
and benchmarks/results/niah_heatmap.png.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ASSETS = HERE.parent / "tests" / "assets"
ANIMALS = ["a dog", "a cat", "a horse", "a bird"]
FRUIT = ["an apple", "an orange", "a banana", "a pineapple"]
NEEDLES = [
    ("chicky_512.png", "Which animal appears in the video?", ANIMALS, "a dog"),
    ("orange.jpg", "Which fruit is shown?", FRUIT, "an orange"),
    ("apple.jpg", "Which fruit is shown?", FRUIT, "an apple"),
    ("chelsea.png", "Which animal appears in the video?", ANIMALS, "a cat"),
    (
        "coffee.png",
        "What drink is served?",
        ["a cup of coffee", "a glass of beer", "a glass of milk", "a bottle of wine"],
        "a cup of coffee",
    ),
    (
        "rocket.png",
        "Which vehicle is shown?",
        ["a rocket", "a bus", "a bicycle", "a ship"],
        "a rocket",
    ),
]


def make_needles(folder: Path) -> Path:
    from PIL import Image
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    for image, *_ in NEEDLES:
        if (ASSETS / image).exists():
            shutil.copy(ASSETS / image, folder / image)
        else:
            Image.fromarray(getattr(data, Path(image).stem)()).save(folder / image)
    entries = [{"image": i, "question": q, "options": o, "answer": a} for i, q, o, a in NEEDLES]
    (folder / "needles.json").write_text(json.dumps(entries, indent=1))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    from framesift import Pipeline
    from framesift.eval.niah import NIAHConfig, run_niah

    torch.set_num_threads(args.threads)
    out = HERE / ".media" / "niah_run"
    config = NIAHConfig(
        haystack=str(ASSETS / "vtest.avi"),
        needles=str(make_needles(HERE / ".media" / "needles")),
        out=str(out),
        lengths=(600, 1800, 3600),
        depths=(0.0, 0.25, 0.5, 0.75, 1.0),
    )
    # many questions in one process: questions through the ONNX session, as `framesift niah`
    pipeline = Pipeline(budget=args.budget, params={"encoder": {"text_runtime": "onnx"}})
    results = run_niah(config, pipeline)
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    lines = [
        "# V-NIAH on real footage (bundled encoder, offline)",
        "",
        f"Haystack: vtest.avi at 1 fps (80 real frames) looped to {list(config.lengths)} frames; "
        f"{len(NEEDLES)} real photos as needles, 1 s each, at depths {list(config.depths)}; "
        f"budget K = {args.budget} for every selector; torch threads {args.threads}. "
        f"Haystack features: computed once for all lengths, depths, needles and selectors "
        f"({results['haystack_encoding_seconds']:.1f} s in this run, 0 when already cached). "
        f"{len(rows) // len(config.selectors)} questions per selector.",
        "",
        "| selector | retrieval | accuracy | "
        + " | ".join(f"acc @ {n}" for n in config.lengths)
        + " | select + answer ms / question |",
        "|---|---|---|" + "---|" * len(config.lengths) + "---|",
    ]
    for name, r in results["selectors"].items():
        per_length = [
            np.mean([x["correct"] for x in rows if x["selector"] == name and x["length"] == n])
            for n in config.lengths
        ]
        lines.append(
            f"| {name} | {r['retrieval']:.1%} | {r['accuracy']:.1%} | "
            + " | ".join(f"{a:.1%}" for a in per_length)
            + f" | {r['ms_per_question']:.2f} |"
        )
    text = "\n".join(lines) + "\n"
    (HERE / "results" / "niah.md").write_text(text)
    shutil.copy(out / "heatmap.png", HERE / "results" / "niah_heatmap.png")
    print(text)


if __name__ == "__main__":
    main()
