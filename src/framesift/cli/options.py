"""Pipeline options for every subcommand that builds a Pipeline, generated from
``PipelineConfig``'s fields: a default lives in the dataclass and nowhere else."""

from __future__ import annotations

import argparse
from dataclasses import MISSING
from typing import Any

from framesift.errors import InputError

_TYPES = {"int": int, "float": float, "int | None": int, "float | None": float}


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    from framesift.pipeline import PipelineConfig

    group = parser.add_argument_group("pipeline")
    for f in PipelineConfig.option_fields():
        meta = f.metadata
        flag = meta["flag"] or "--" + f.name.replace("_", "-")
        if f.name == "use_cache":
            group.add_argument(
                flag,
                dest=f.name,
                action="store_false",
                default=argparse.SUPPRESS,
                help="neither read nor write the cache",
            )
            continue
        if f.name == "params":
            group.add_argument(
                flag, dest=f.name, action="append", metavar=meta["metavar"], help=meta["help"]
            )
            continue
        default = f.default if f.default is not MISSING else None
        shown = f" (default: {default})" if default is not None else ""
        group.add_argument(
            flag,
            dest=f.name,
            type=_TYPES.get(str(f.type), str),
            metavar=meta["metavar"],
            default=argparse.SUPPRESS,  # unset options take the dataclass default
            help=meta["help"] + shown,
        )
    group.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="CPU threads for the models (default: as many as torch chooses)",
    )


def pipeline_config(args: argparse.Namespace, *, progress: bool, **overrides: Any) -> Any:
    """The ``PipelineConfig`` the parsed options describe (``overrides`` win)."""
    from framesift.pipeline import PARTS, PipelineConfig
    from framesift.registry import parse_params

    threads = getattr(args, "threads", None)
    if threads is not None:
        if threads < 1:
            raise InputError(f"--threads must be at least 1, got {threads}")
        import torch

        torch.set_num_threads(threads)
    values = {
        f.name: getattr(args, f.name)
        for f in PipelineConfig.option_fields()
        if hasattr(args, f.name)
    }
    if values.get("params") is not None:
        values["params"] = parse_params(values["params"], PARTS, default="selector")
    else:
        values.pop("params", None)
    return PipelineConfig(**values, progress=progress, **overrides)
