"""``framesift compare``: eval runs side by side."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "compare",
        help="compare eval runs: markdown table and accuracy-vs-frames plot",
        description="Print a markdown table of accuracy and latency for each eval run folder "
        "and plot accuracy against frames seen per question.",
    )
    parser.add_argument("runs", nargs="+", metavar="DIR", help="folders written by framesift eval")
    parser.add_argument(
        "--plot", default="compare.png", metavar="PNG", help="(default compare.png)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framesift.eval.compare import load_runs, markdown_table, plot_accuracy_vs_frames

    runs = load_runs([Path(d) for d in args.runs])
    print(markdown_table(runs))
    plot_accuracy_vs_frames(runs, Path(args.plot))
    print(f"\nplot: {args.plot}")
    return 0
