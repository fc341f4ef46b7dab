"""``framesift index PATH...``: build the cache of a video corpus ahead of its questions."""

from __future__ import annotations

import argparse

from framesift.cli.options import add_pipeline_arguments, pipeline_config


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "index",
        help="build the cache of many videos ahead of their questions",
        description="Decode and encode every video named (files, folders searched for videos, "
        "or --from-list) into the cache, with N worker processes here or on a Ray cluster "
        "(--ray), each loading the models once. Cached videos are skipped, so a run killed "
        "and started again with the same arguments does only what is left. A video that "
        "fails is recorded with its error and the rest go on; the exit status is 1 if any "
        "failed. With --ray the cache folder must be one every node reaches at the same path "
        "(a shared filesystem), and so must the videos.",
        epilog="example: framesift index videos/ --workers 4 --fps 1 --cache-dir /shared/cache; "
        "framesift index --from-list corpus.txt --ray auto --cache-dir /shared/cache",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="video file or folder")
    parser.add_argument(
        "--from-list",
        metavar="FILE",
        help="a file naming one video a line (relative to its folder; # comments)",
    )
    parser.add_argument(
        "--patches",
        action="store_true",
        help="also build the answerer's patch tokens, which --merge reads (answerers that "
        "read tokens, such as llava-ov, build them anyway)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes, or Ray actors with --ray (default: 1 here, one per CPU of the "
        "Ray cluster)",
    )
    add_ray_argument(parser)
    add_pipeline_arguments(parser)
    parser.set_defaults(run=run)


def add_ray_argument(parser: argparse.ArgumentParser) -> None:
    """``--ray [ADDRESS]``, shared with ``eval``."""
    parser.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="run on a Ray cluster: HOST:PORT or ray://HOST:PORT, auto for the one `ray start` "
        "began on this machine, no address for a Ray instance started here for this run "
        "(needs framesift[ray])",
    )


def run(args: argparse.Namespace) -> int:
    from framesift.errors import InputError
    from framesift.index import find_videos, index_videos, with_patches

    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    videos = find_videos(args.paths, args.from_list)
    config = pipeline_config(args, progress=False)
    if args.patches:
        config = with_patches(config)
    report = index_videos(videos, config, workers=args.workers, ray=args.ray, progress=True)
    print(report.table())
    return 1 if report.failed else 0
