"""Bundled encoder: ONNX Runtime against the torch reference, and a new process's load time.

    python benchmarks/encoders.py [--threads 2] [--frames 256] [--repeats 3]

Measured in one run, on real footage (tests/assets/vtest.avi at 4 fps, 224x224):
1. frames/s of ``bundled:torch`` (eager) and ``bundled:onnx`` (ONNX Runtime fp32), and of
   the same ONNX graphs compiled by OpenVINO in fp32 when it is installed, batch 32, all
   limited to ``--threads`` threads, best of ``--repeats`` interleaved passes; the cosine
   of each runtime's frame, patch and text embeddings to torch's;
2. a new process's time to its first text embedding (what a cached re-ask waits for before
   it can select), median of ``--repeats`` processes: the torch runtime embedding the 1,000
   class prompts at start (what every process did before they were cached), the torch
   runtime with cached class embeddings, and the ONNX runtime with warm caches; the heaviest
   imports of the last (``python -X importtime``); and the whole ``framesift ask`` command
   re-asking about vtest.avi once its features are cached.
Prints markdown tables and writes them to benchmarks/results/encoders.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
VTEST = HERE.parent / "tests" / "assets" / "vtest.avi"
QUESTIONS = ["Is there a dog?", "What is the man holding?", "When does the red car appear?"]

# Run in a fresh interpreter: imports, build, first question; seconds since its start.
FIRST_QUESTION = """
import json, sys, time
start = time.perf_counter()
from framesift.encode import build_encoder
imported = time.perf_counter()
encoder = build_encoder(sys.argv[1], device="cpu")
built = time.perf_counter()
encoder.encode_text(["Is there a dog?"])
done = time.perf_counter()
HEAVY = ("torch", "transformers", "onnxruntime")
print(json.dumps({
    "import": imported - start, "build": built - imported, "text": done - built,
    "heavy": sorted(m for m in HEAVY if m in sys.modules),
}))
"""


def real_frames(count: int) -> np.ndarray:
    from framesift.decode import Resize, Sampling, decode_frames

    batches = [b.pixels for b in decode_frames(VTEST, Sampling(fps=4), Resize(224, 224))]
    frames = np.concatenate(batches)
    return np.concatenate([frames] * -(-count // len(frames)))[:count]


class OpenVinoRuntime:
    """The bundled encoder's exported image graphs compiled by OpenVINO in fp32 (its CPU plugin
    would pick bf16 where the CPU has it); text stays in numpy. Benchmark only: OpenVINO
    is not a framesift dependency (``pip install openvino`` adds this row)."""

    name = "openvino"

    def __init__(self, onnx_runtime, threads: int):
        import openvino

        from framesift.encode.bundled import _exported_graph

        self.batch_size = onnx_runtime.batch_size
        self.sentence_embeddings = onnx_runtime.sentence_embeddings
        config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32"}
        self.compiled = {
            with_patches: openvino.Core().compile_model(
                str(_exported_graph("image-patches" if with_patches else "image")), "CPU", config
            )
            for with_patches in (False, True)
        }

    def class_logits(
        self, pixels: np.ndarray, with_patches: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        outputs = self.compiled[with_patches](pixels)
        return outputs[0], (outputs[1] if with_patches else None)


def throughput(threads: int, frames: np.ndarray, repeats: int) -> tuple[list[str], dict]:
    import torch

    from framesift.encode.bundled import BundledEncoder

    torch.set_num_threads(threads)
    encoders = {
        runtime: BundledEncoder(runtime, threads=threads, device="cpu")
        for runtime in ("torch", "onnx")
    }
    if importlib.util.find_spec("openvino"):
        encoders["openvino"] = BundledEncoder("onnx", threads=threads, device="cpu")
        encoders["openvino"].runtime = OpenVinoRuntime(encoders["openvino"].runtime, threads)
    best = dict.fromkeys(encoders, float("inf"))
    for _ in range(repeats):  # interleaved, so all see the same background load
        for runtime, encoder in encoders.items():
            encoder.encode_frames(frames[:32])  # warm-up batch
            start = time.perf_counter()
            encoder.encode_frames(frames)
            best[runtime] = min(best[runtime], time.perf_counter() - start)
    sample = frames[: min(len(frames), 128)]
    features = {r: e.encode_frames(sample, with_patches=True) for r, e in encoders.items()}
    texts = {r: e.encode_text(QUESTIONS) for r, e in encoders.items()}
    reference = features["torch"]
    rows = [
        "| runtime | frames/s | x torch | frame cosine to torch (min) | patch cosine (mean) | "
        "text cosine (min) |",
        "|---|---|---|---|---|---|",
    ]
    for runtime in encoders:
        fps = len(frames) / best[runtime]
        frame_cos = (features[runtime].embeddings * reference.embeddings).sum(-1).min()
        patch_cos = (features[runtime].patches * reference.patches).sum(-1).mean()
        text_cos = (texts[runtime] * texts["torch"]).sum(-1).min()
        rows.append(
            f"| {runtime} | {fps:.1f} | {best['torch'] / best[runtime]:.2f} | {frame_cos:.6f} | "
            f"{patch_cos:.6f} | {text_cos:.6f} |"
        )
    return rows, {r: len(frames) / best[r] for r in encoders}


def first_question(spec: str, caches: list[str]) -> dict:
    """One new process per cache folder; medians. ``wall`` includes starting the interpreter."""
    runs = []
    for cache in caches:
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", FIRST_QUESTION, spec],
            env={**os.environ, "FRAMESIFT_CACHE": cache},
            capture_output=True,
            text=True,
            check=True,
        )
        run = json.loads(out.stdout.strip().splitlines()[-1])
        runs.append({**run, "wall": time.perf_counter() - start})
    medians = {
        k: statistics.median(r[k] for r in runs) for k in ("import", "build", "text", "wall")
    }
    return {**medians, "heavy": runs[0]["heavy"]}


def import_times(command: list[str], cache: str) -> dict[str, float]:
    """Seconds per top-level package imported by ``python -X importtime <command>`` in a
    fresh process (cumulative: a package's own imports included)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", *command],
        env={**os.environ, "FRAMESIFT_CACHE": cache},
        capture_output=True,
        text=True,
        check=True,
    )
    totals: dict[str, float] = {}
    for line in out.stderr.splitlines():
        fields = line.split("|")
        if not line.startswith("import time:") or not fields[1].strip().isdigit():
            continue
        name = fields[2][1:]  # nested imports are indented by two spaces per level
        if not name.startswith(" "):
            package = name.split(".")[0]
            totals[package] = totals.get(package, 0.0) + int(fields[1]) / 1e6
    return totals


def cli_reask(cache: str, repeats: int) -> dict:
    """``framesift ask`` on vtest.avi in new processes once its features are cached: median
    wall time, and whether torch, transformers or ONNX Runtime was imported."""
    command = ["-m", "framesift.cli.main", "ask", str(VTEST), QUESTIONS[0]]
    env = {**os.environ, "FRAMESIFT_CACHE": cache}
    subprocess.run([sys.executable, *command], env=env, capture_output=True, check=True)
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, *command], env=env, capture_output=True, check=True)
        walls.append(time.perf_counter() - start)
    imported = import_times(command, cache)
    heavy = sorted(m for m in ("torch", "transformers", "onnxruntime") if m in imported)
    return {"wall": statistics.median(walls), "heavy": heavy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from framesift.encode import build_encoder
    from framesift.hub import default_cache_dir

    load_at_start = os.getloadavg()[0]
    frames = real_frames(args.frames)
    speed_rows, fps = throughput(args.threads, frames, args.repeats)

    # Warm the user cache for both runtimes (graphs, class embeddings), then time new processes.
    warm = str(default_cache_dir())
    for spec in ("bundled:torch", "bundled:onnx"):
        build_encoder(spec, device="cpu")
    with tempfile.TemporaryDirectory() as cold:
        scenarios = [
            ("torch, class prompts embedded at start (before)", "bundled:torch", None),
            ("torch, class embeddings cached", "bundled:torch", warm),
            ("onnx, warm caches (after, the default)", "bundled", warm),
        ]
        load_rows = [
            "| new process | to first text embedding, wall s | imports s | build s | "
            "first question s | runtimes imported |",
            "|---|---|---|---|---|---|",
        ]
        loads = {}
        for label, spec, cache in scenarios:
            # no cache: a fresh, empty folder per process, so every one embeds the prompts
            caches = [cache or tempfile.mkdtemp(dir=cold) for _ in range(args.repeats)]
            load = loads[label] = first_question(spec, caches)
            load_rows.append(
                f"| {label} | {load['wall']:.2f} | {load['import']:.2f} | {load['build']:.2f} | "
                f"{load['text']:.2f} | {', '.join(load['heavy']) or 'none'} |"
            )
    imported = import_times(["-c", FIRST_QUESTION, "bundled"], warm)
    imports = sorted(imported.items(), key=lambda item: -item[1])[:5]
    before, after = (loads[scenarios[i][0]]["wall"] for i in (0, 2))
    reask = cli_reask(warm, args.repeats)

    lines = [
        "# Bundled encoder: ONNX Runtime vs the torch reference",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"{args.threads} threads for every runtime (torch.set_num_threads, intra-op threads); "
        f"{len(frames)} real frames (vtest.avi at 4 fps, 224x224), batch 32, "
        f"best of {args.repeats} interleaved passes; load average at the start "
        f"{load_at_start:.1f} (other work on the machine slows every runtime).",
        "",
        *speed_rows,
        "",
        f"ONNX Runtime encodes {fps['onnx'] / fps['torch']:.1f}x the torch frames/s.",
        "",
        f"## A new process's first question (cached re-ask), median of {args.repeats} processes",
        "",
        *load_rows,
        "",
        f"Load to first text embedding: {before:.2f} s before, {after:.2f} s after "
        f"({before / after:.1f}x faster).",
        "",
        "Heaviest imports of the default runtime's question path (cumulative s): "
        + ", ".join(f"{name} {seconds:.2f}" for name, seconds in imports),
        "",
        f"The whole command, `framesift ask vtest.avi ...` with its features cached, in a new "
        f"process: {reask['wall']:.2f} s wall (median of {args.repeats}); torch, "
        f"transformers or ONNX Runtime imported: {', '.join(reask['heavy']) or 'none'}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    out = HERE / "results" / "encoders.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
