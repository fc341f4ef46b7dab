"""Arguments shared by the subcommands that build a Pipeline."""

from __future__ import annotations

import argparse
from typing import Any


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    from framesift.select import SELECTORS

    group = parser.add_argument_group("pipeline")
    group.add_argument(
        "--encoder",
        default="bundled",
        help="frame/text encoder: 'bundled' (offline: EfficientNet-Lite0 bridged to MiniLM), "
        "or 'hf:<hub id or folder>' for CLIP/SigLIP, e.g. hf:openai/clip-vit-base-patch32",
    )
    group.add_argument(
        "--selector",
        default="dks",
        metavar="NAME[:ARG]",
        help="keyframe selector: " + ", ".join(SELECTORS.names()) + " (default: dks, ViLAMP's "
        "relevant-and-not-redundant selection; vila:CHECKPOINT is a trained ViLA Frame-Prompter,"
        " vlm-localizer[:MODEL] SeViLA's per-frame VLM localizer)",
    )
    group.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="selector parameter, repeatable, e.g. --param relevance_floor=0.1 "
        "(defaults depend on the encoder's score scale)",
    )
    group.add_argument(
        "--budget", type=int, default=8, metavar="K", help="keyframes to keep (default 8)"
    )
    group.add_argument(
        "--fps",
        type=float,
        default=1.0,
        metavar="F",
        help="candidate frames per second (default 1)",
    )
    group.add_argument(
        "--frames",
        type=int,
        metavar="N",
        help="exactly N evenly spaced candidate frames instead of --fps (ViLA: 32)",
    )
    group.add_argument(
        "--answerer",
        default="similarity",
        metavar="NAME[:ID]",
        help="'similarity' (offline: the option that best matches a keyframe) or "
        "'llava-ov[:hub id or folder]' (LLaVA-OneVision, default "
        "llava-hf/llava-onevision-qwen2-0.5b-ov-hf)",
    )
    group.add_argument(
        "--merge",
        choices=["dfm", "mean", "drop"],
        help="answer from a compressed token sequence: keyframes keep their patch tokens, every "
        "other frame becomes one token (dfm: ViLAMP's differential merging; mean: mean pooling;"
        " drop: keyframes only). Default: off for similarity, drop for llava-ov",
    )
    group.add_argument(
        "--keyframe-pool",
        type=int,
        default=1,
        metavar="S",
        help="pool keyframe patch grids by S (2 = LLaVA-OneVision's 2x2 video pooling)",
    )
    group.add_argument(
        "--threads", type=int, metavar="N", help="torch CPU threads (default: torch's)"
    )
    cache = group.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache-dir", metavar="DIR", help="feature cache folder (default: user cache)"
    )
    cache.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")


def pipeline_config(args: argparse.Namespace, *, progress: bool) -> Any:
    from framesift.errors import InputError
    from framesift.pipeline import PipelineConfig

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    params: dict[str, Any] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--param expects KEY=VALUE, got {item!r}")
        params[key] = _number(value)
    return PipelineConfig(
        encoder=args.encoder,
        selector=args.selector,
        selector_params=params,
        budget=args.budget,
        fps=args.fps,
        frames=args.frames,
        answerer=args.answerer,
        merge=args.merge,
        keyframe_pool=args.keyframe_pool,
        cache_dir=args.cache_dir,
        use_cache=not args.no_cache,
        progress=progress,
    )


def _number(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text
