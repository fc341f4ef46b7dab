"""``framesift niah``: visual needle-in-a-haystack over real footage, selector by selector."""

from __future__ import annotations

import argparse

from framesift.cli.options import add_pipeline_arguments, pipeline_config


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "niah",
        help="visual needle-in-a-haystack: retrieval and accuracy per selector",
        description="Insert each needle photo (NEEDLES/needles.json: image, question, options, "
        "answer) for --needle-seconds at each depth into HAYSTACK footage looped to each length "
        "(in candidate frames), ask every --selectors at the same --budget, and write "
        "OUT/samples.jsonl, OUT/results.json and OUT/heatmap.png.",
        epilog="example: framesift niah --haystack vtest.avi --needles needles/ "
        "--lengths 600 1800 3600 --depths 0 0.25 0.5 0.75 1 --budget 8 --out runs/niah",
    )
    parser.add_argument("--haystack", required=True, metavar="VIDEO", help="real footage")
    parser.add_argument("--needles", required=True, metavar="DIR", help="needle folder")
    parser.add_argument("--out", required=True, metavar="DIR")
    from framesift.cli.options import add_field_option
    from framesift.eval.niah import NIAHConfig

    add_field_option(parser, NIAHConfig, "lengths", type=int, nargs="+", metavar="N")
    add_field_option(parser, NIAHConfig, "depths", type=float, nargs="+", metavar="D")
    add_field_option(parser, NIAHConfig, "selectors", nargs="+", metavar="NAME[:ARG]")
    add_field_option(parser, NIAHConfig, "needle_seconds", type=float, metavar="S")
    add_pipeline_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framesift.cli.options import field_values
    from framesift.eval.niah import NIAHConfig, run_niah
    from framesift.pipeline import Pipeline

    given = {
        k: tuple(v) if isinstance(v, list) else v for k, v in field_values(args, NIAHConfig).items()
    }
    config = NIAHConfig(**given)
    pipeline = Pipeline(pipeline_config(args, progress=True, many_questions=True))
    results = run_niah(config, pipeline)
    print("| selector | retrieval | accuracy | ms / question |\n|---|---|---|---|")
    for name, r in results["selectors"].items():
        print(
            f"| {name} | {r['retrieval']:.1%} | {r['accuracy']:.1%} | {r['ms_per_question']:.2f} |"
        )
    print(
        f"\nhaystack features: {results['footage_frames']} frames encoded once in "
        f"{results['haystack_encoding_seconds']:.1f}s; heatmap: {args.out}/heatmap.png"
    )
    return 0
