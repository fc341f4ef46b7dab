"""``framesift serve --media DIR``: warm models behind an HTTP API, and a page to ask with."""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys

from framesift.cli.options import add_pipeline_arguments, pipeline_config


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve a folder of videos: HTTP API and web page, models kept loaded",
        description="Load the models once and answer questions about the videos under --media "
        "over HTTP; open the printed address for the page (pick a video, ask, see the moments "
        "that support the answer). Needs the serve extra: pip install 'framesift[serve]'.",
        epilog="example: framesift serve --media ~/videos --port 8765 --token s3cret",
    )
    parser.add_argument("--media", required=True, metavar="DIR", help="folder of videos to serve")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine)"
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="TCP port (default 8765; 0: any free port)"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("FRAMESIFT_TOKEN") or None,
        help="require the header 'Authorization: Bearer TOKEN' on /api and /media (the page "
        "asks for it once); default $FRAMESIFT_TOKEN, which other users cannot see in ps",
    )
    parser.add_argument(
        "--index-workers",
        type=int,
        default=1,
        metavar="N",
        help="videos indexed at once (default 1)",
    )
    parser.add_argument(
        "--index-queue",
        type=int,
        default=8,
        metavar="N",
        help="videos waiting or being indexed before new ones are refused (default 8)",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=120.0,
        metavar="S",
        help="seconds one request may take; an ask still indexing its video then answers with "
        "the indexing job to follow (default 120)",
    )
    add_pipeline_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framesift.errors import InputError

    try:
        import uvicorn

        from framesift.serve.app import create_app
    except ImportError as exc:
        raise InputError(
            f"framesift serve needs the serve extra ({exc.name} is missing): "
            "pip install 'framesift[serve]'"
        ) from None
    from framesift.serve.library import MediaLibrary
    from framesift.serve.service import Limits, Service

    for name in ("index_workers", "index_queue"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1")
    if not args.request_timeout > 0:
        raise InputError("--request-timeout must be a positive number of seconds")
    library = MediaLibrary(args.media)
    config = pipeline_config(args, progress=False, many_questions=True)
    if not config.use_cache:
        raise InputError("framesift serve keeps indexed videos in the cache; drop --no-cache")
    listener = _listen(args.host, args.port)  # before loading models: a busy port fails fast
    service = Service(
        library,
        config,
        index_workers=args.index_workers,
        queue_capacity=args.index_queue,
        limits=Limits(request_seconds=args.request_timeout),
    )
    print(f"loading models ({service.pipeline.config.encoder})...", file=sys.stderr)
    service.warm()
    host, port = listener.getsockname()[:2]
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
    notes = ["token required" if args.token else "no token"]
    if not _is_loopback(args.host):
        notes.append("reachable from other machines")
    print(f"framesift serving {library.root} at {url} ({', '.join(notes)})", flush=True)
    server = uvicorn.Server(
        uvicorn.Config(create_app(service, token=args.token), log_level="warning", access_log=False)
    )
    try:
        server.run(sockets=[listener])
    finally:
        service.close()
    return 0


def _listen(host: str, port: int) -> socket.socket:
    from framesift.errors import InputError

    if not 0 <= port <= 65535:
        raise InputError(f"--port must be between 0 and 65535, got {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise InputError(f"cannot listen on {host!r}: {exc.strerror}; check --host") from None
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
        listener.listen(128)  # connections queue from now on, before uvicorn starts accepting
    except OSError as exc:
        listener.close()
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port"
        ) from None
    return listener


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
