"""``framesift train vila``: teacher, then distilled student with the Frame-Prompter."""

from __future__ import annotations

import argparse


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
    from framesift.eval.loaders import BENCHMARKS

    parser.add_argument("--benchmark", required=True, choices=BENCHMARKS.names())
    parser.add_argument("--annotations", required=True, metavar="PATH")
    parser.add_argument("--videos", required=True, metavar="DIR")
    parser.add_argument("--val-annotations", metavar="PATH")
    parser.add_argument("--val-videos", metavar="DIR", help="(default: --videos)")
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--encoder", default="bundled")
    parser.add_argument("--cache-dir", metavar="DIR")
    parser.add_argument("--teacher-frames", type=int, default=32, metavar="T")
    parser.add_argument("--student-frames", type=int, default=4, metavar="S")
    parser.add_argument("--teacher-epochs", type=int, default=10)
    parser.add_argument("--student-epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--distill-lambda", type=float, default=0.01)
    parser.add_argument("--no-distill", action="store_true", help="ablation: answer loss only")
    parser.add_argument(
        "--host",
        default="qformer",
        metavar="HOST",
        help="qformer (default) or instructblip[:MODEL_ID] (default id: "
        "Salesforce/instructblip-flan-t5-xl; a hub id or a local folder)",
    )
    parser.add_argument(
        "--lora-rank", type=int, default=0, metavar="R", help="instructblip: LoRA rank, 0 = frozen"
    )
    parser.add_argument(
        "--host-dtype", default="float32", choices=["float32", "bfloat16", "float16"]
    )
    parser.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: the GPU if any)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, metavar="N")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    import torch

    from framesift.vila.config import ViLAConfig
    from framesift.vila.train import TrainConfig, train_vila

    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig(
        benchmark=args.benchmark,
        annotations=args.annotations,
        videos=args.videos,
        out=args.out,
        val_annotations=args.val_annotations,
        val_videos=args.val_videos,
        encoder=args.encoder,
        cache_dir=args.cache_dir,
        teacher_epochs=args.teacher_epochs,
        student_epochs=args.student_epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        distill=not args.no_distill,
        device=args.device,
        model=ViLAConfig(
            teacher_frames=args.teacher_frames,
            segments=args.student_frames,
            distill_lambda=args.distill_lambda,
            host=args.host,
            lora_rank=args.lora_rank,
            host_dtype=args.host_dtype,
        ),
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
