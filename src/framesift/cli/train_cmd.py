"""``framesift train vila``: teacher, then distilled student with the Frame-Prompter."""

from __future__ import annotations

import argparse
import functools


def add_parser(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="train a learned component (ViLA)")
    methods = train.add_subparsers(dest="method", metavar="METHOD", required=True)
    parser = methods.add_parser(
        "vila",
        help="ViLA: question-guided Frame-Prompter + QFormer-Distiller",
        description="Stage 1 trains a teacher Q-Former over T frames; stage 2 trains the "
        "student (Frame-Prompter picking S frames, Q-Former, answer head, token lift) with "
        "answer cross-entropy + lambda * MSE to the frozen teacher's tokens. Features come "
        "from the cache (videos are decoded once). Resumes after a kill. Writes OUT/model "
        "(safetensors + config.json), OUT/summary.json and, with --val-annotations, "
        "OUT/val/results.json from the evaluation harness. The Q-Former host is a small "
        "one over the encoder's frozen features (--host qformer, trains on a CPU) or "
        "InstructBLIP-Video's own Q-Former and language model (--host instructblip[:ID], "
        "a GPU job at the paper's Flan-T5-XL size; --lora-rank adapts the language model).",
        epilog="examples:\n  framesift train vila --benchmark generic --annotations "
        "train.jsonl --videos videos/ --val-annotations val.jsonl --teacher-frames 32 "
        "--student-frames 4 --out runs/vila\n  framesift train vila --host "
        "instructblip:Salesforce/instructblip-flan-t5-xl --lora-rank 8 --host-dtype bfloat16 "
        "--batch-size 4 --benchmark nextqa --annotations train.csv --videos NExTVideo/ "
        "--out runs/vila-xl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from framesift.cli.options import add_field_option
    from framesift.eval.loaders import BENCHMARKS
    from framesift.vila.config import TrainConfig, ViLAConfig

    parser.add_argument("--benchmark", required=True, choices=BENCHMARKS.names())
    parser.add_argument("--annotations", required=True, metavar="PATH")
    parser.add_argument("--videos", required=True, metavar="DIR")
    parser.add_argument("--out", required=True, metavar="DIR")
    run_option = functools.partial(add_field_option, parser, TrainConfig)
    run_option("val_annotations", metavar="PATH")
    run_option("val_videos", metavar="DIR", help="(default: --videos)")
    run_option("encoder", metavar="NAME[:ARG]")
    run_option("cache_dir", metavar="DIR")
    run_option("teacher_epochs", type=int, metavar="N")
    run_option("student_epochs", type=int, metavar="N")
    run_option("batch_size", type=int, metavar="B")
    run_option("lr", type=float)
    run_option("seed", type=int)
    run_option("distill", "--no-distill", action="store_false", help="ablation: answer loss only")
    run_option("device", help="cpu, cuda, cuda:1 ... (default: the GPU if any)")
    model_option = functools.partial(add_field_option, parser, ViLAConfig)
    model_option("teacher_frames", type=int, metavar="T")
    model_option("segments", "--student-frames", type=int, metavar="S")
    model_option("distill_lambda", type=float)
    model_option(
        "host",
        metavar="HOST",
        help="qformer or instructblip[:MODEL_ID] (default id: Salesforce/instructblip-flan-t5-xl;"
        " a hub id or a local folder)",
    )
    model_option("lora_rank", type=int, metavar="R", help="instructblip: LoRA rank, 0 = frozen")
    model_option("host_dtype", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    import torch

    from framesift.cli.options import field_values
    from framesift.errors import InputError
    from framesift.vila.config import TrainConfig, ViLAConfig
    from framesift.vila.train import train_vila

    if args.threads is not None:
        if args.threads < 1:
            raise InputError(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    config = TrainConfig(
        **field_values(args, TrainConfig), model=ViLAConfig(**field_values(args, ViLAConfig))
    )
    summary = train_vila(config)
    if args.val_annotations:
        summary["harness"] = validate(config)
    keys = (
        "train_questions",
        "val_questions",
        "teacher_val_accuracy",
        "student_val_accuracy",
        "feature_seconds",
        "train_seconds",
        "harness",
    )
    print(json.dumps({k: summary.get(k) for k in keys}, indent=1))
    return 0


def validate(config) -> dict:
    """The student through the evaluation harness, as users will run it."""
    from pathlib import Path

    from framesift.eval.run import EvalConfig, run_eval
    from framesift.pipeline import PipelineConfig

    model = str(Path(config.out) / "model")
    pipeline = PipelineConfig(
        encoder=config.encoder,
        selector=f"vila:{model}",
        answerer=f"vila:{model}",
        frames=config.model.teacher_frames,
        budget=config.model.segments,
        cache_dir=config.cache_dir,
    )
    results = run_eval(
        EvalConfig(
            benchmark=config.benchmark,
            annotations=config.val_annotations,
            videos=config.val_videos or config.videos,
            out=str(Path(config.out) / "val"),
            pipeline=pipeline,
        )
    )
    r = results["results"][config.benchmark]
    return {"accuracy": r["accuracy"], "n": r["n"], "errors": r["errors"]}
