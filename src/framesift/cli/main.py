"""``framesift`` entry point. Parsing imports nothing heavy; each subcommand imports its
dependencies inside ``run`` (``framesift --help`` never loads torch or transformers)."""

from __future__ import annotations

import argparse
import sys

from framesift.cli import (
    ask_cmd,
    compare_cmd,
    demo_cmd,
    eval_cmd,
    index_cmd,
    niah_cmd,
    select_cmd,
    serve_cmd,
    train_cmd,
)

SUBCOMMANDS = (
    ask_cmd,
    demo_cmd,
    index_cmd,
    eval_cmd,
    select_cmd,
    niah_cmd,
    compare_cmd,
    train_cmd,
    serve_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="framesift",
        description=(
            "Answer questions about long videos by showing a model only the frames the "
            "question needs. Frame features are cached per video, so a second question on "
            "the same video costs a text embedding, a selection and the answer."
        ),
        epilog='Start with `framesift demo`, then `framesift ask VIDEO "QUESTION"`.',
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from framesift.errors import FramesiftError

    try:
        return args.run(args)
    except FramesiftError as exc:
        if args.debug:
            raise
        print(f"framesift: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("framesift: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
