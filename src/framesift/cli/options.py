"""Pipeline options for every subcommand that builds a Pipeline, generated from
``PipelineConfig``'s fields: a default lives in the dataclass and nowhere else."""

from __future__ import annotations

import argparse
from dataclasses import MISSING, fields
from typing import Any

_TYPES = {"int": int, "float": float, "int | None": int, "float | None": float}


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    from framesift.pipeline import PipelineConfig

    group = parser.add_argument_group("pipeline")
    for f in PipelineConfig.option_fields():
        meta = f.metadata
        flag = meta["flag"] or "--" + f.name.replace("_", "-")
        if f.type == "bool":  # a switch that flips the default
            group.add_argument(
                flag,
                dest=f.name,
                action="store_false" if f.default else "store_true",
                default=argparse.SUPPRESS,
                help=meta["help"],
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


def pipeline_config(
    args: argparse.Namespace, *, progress: bool, many_questions: bool = False, **overrides: Any
) -> Any:
    """The ``PipelineConfig`` the parsed options describe (``overrides`` win). A command that
    embeds ``many_questions`` (serve, eval, select, niah) gets its encoder's session-backed
    question path where the encoder offers one (``text_runtime``), unless the user chose."""
    from framesift.pipeline import PARTS, PipelineConfig
    from framesift.registry import parse_params

    values = {
        f.name: getattr(args, f.name)
        for f in PipelineConfig.option_fields()
        if hasattr(args, f.name)
    }
    if values.get("params") is not None:
        values["params"] = parse_params(values["params"], PARTS, default="selector")
    else:
        values.pop("params", None)
    config = PipelineConfig(**values, progress=progress, **overrides)
    return _questions_in_a_session(config) if many_questions else config


def _questions_in_a_session(config: Any) -> Any:
    """``config`` whose encoder, if it offers a ``text_runtime``, embeds questions through
    ``onnx``: a session costs ~0.15 s once and then ~4x less per question than the numpy path
    that gives a one-shot ``ask`` its quick start (benchmarks/serve_load.py: 8 clients 20.8
    -> 76.7 asks/s)."""
    from dataclasses import replace

    from framesift.encode import ENCODERS
    from framesift.registry import PartSpec

    params = config.params.get("encoder") or {}
    name = PartSpec.parse(config.encoder).name
    if "text_runtime" in params or "text_runtime" not in ENCODERS.parameters(name):
        return config
    return replace(config, params={**config.params, "encoder": {**params, "text_runtime": "onnx"}})


def add_field_option(
    parser: Any, cls: type, name: str, flag: str | None = None, **kwargs: Any
) -> None:
    """``--name`` for field ``name`` of dataclass ``cls``; its default is read from the
    dataclass for the help text and left unset in ``args`` (see ``field_values``)."""
    field = next(f for f in fields(cls) if f.name == name)
    default = field.default if field.default is not MISSING else None
    if default is not None and kwargs.get("action") not in ("store_true", "store_false"):
        kwargs["help"] = f"{kwargs.get('help', '')} (default: {default})".strip()
    parser.add_argument(
        flag or "--" + name.replace("_", "-"), dest=name, default=argparse.SUPPRESS, **kwargs
    )


def field_values(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of ``cls`` the command line set."""
    return {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
