"""framesift serve under load, on loopback only.

    python benchmarks/serve_load.py [--asks 200] [--clients 8] [--threads 2]
                                    [--text-runtime onnx|numpy]

Starts a real ``framesift serve`` (uvicorn) on 127.0.0.1 over two generated videos under
benchmarks/.media/serve/ (git-ignored): the demo's 60 s video (real photos at known times),
indexed first, and 10 minutes of pans over real photos, left unindexed. Then, in one run:
1. ``--asks`` questions on the cached video from ``--clients`` concurrent clients (keep-alive
   HTTP/1.1): latency p50 / p95, throughput, errors (anything but 200);
2. one client asking alone, against ``framesift ask --json`` on the same cached video in a
   new process (Python start, model load, cached features): the ratio of their medians;
3. the same concurrent asks while the 10-minute video is being indexed: how many were served
   while its job was running, their latency, errors.
Every phase is bounded in count and in time. Prints a markdown table and writes it to
benchmarks/results/serve_load.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MEDIA = HERE / ".media" / "serve"
PHASE_SECONDS = 300  # no phase runs longer than this


def make_media() -> None:
    from skimage import data

    from framesift.demo import build_demo_video
    from framesift.synth import pan, write_video

    MEDIA.mkdir(parents=True, exist_ok=True)
    if not (MEDIA / "demo.mp4").exists():
        build_demo_video(MEDIA / "demo.mp4")
    long = MEDIA / "footage_10min.mp4"
    if not long.exists():
        photos = [data.camera(), data.brick(), data.grass(), data.gravel(), data.moon()]
        frames = (f for photo in photos for f in pan(photo, 320, 240, 10 * 60 * 2 // len(photos)))
        tmp = long.with_suffix(".tmp.mp4")
        write_video(tmp, frames, fps=2)
        tmp.rename(long)


class Server:
    """``framesift serve`` in a child process on a free loopback port."""

    def __init__(self, cache: Path, threads: int, text_runtime: str):
        command = [sys.executable, "-m", "framesift.cli.main", "serve", "--media", str(MEDIA)]
        command += ["--port", "0", "--cache-dir", str(cache), "--threads", str(threads)]
        command += ["--param", f"encoder.text_runtime={text_runtime}"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.process.stdout], [], [], PHASE_SECONDS)
        line = self.process.stdout.readline() if ready else ""
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not found:
            self.process.kill()
            raise SystemExit(f"framesift serve did not start: {line!r}")
        self.port = int(found.group(1))

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=PHASE_SECONDS)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def call(connection: http.client.HTTPConnection, method: str, path: str, body=None):
    payload = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if payload else {}
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def follow(server: Server, job: dict) -> dict:
    deadline = time.monotonic() + PHASE_SECONDS
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = call(server.connect(), "GET", f"/api/jobs/{job['job']}")[1]
    return job


def ask_body() -> dict:
    from framesift.demo import NEEDLES

    rocket = NEEDLES[2]
    return {"video": "demo.mp4", "question": rocket.question, "options": list(rocket.options)}


def load(server: Server, asks: int, clients: int, until=None) -> dict:
    """``asks`` questions from ``clients`` threads (stopping early once ``until()`` is true);
    latencies of the 200s, count of the rest."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    remaining = iter(range(asks))
    deadline = time.monotonic() + PHASE_SECONDS

    def client() -> None:
        nonlocal errors
        connection = server.connect()
        while next(remaining, None) is not None and time.monotonic() < deadline:
            if until is not None and until():
                return
            t0 = time.perf_counter()
            try:
                status, _ = call(connection, "POST", "/api/ask", ask_body())
            except (OSError, http.client.HTTPException):
                status, connection = 0, server.connect()
            elapsed = time.perf_counter() - t0
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                else:
                    errors += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"latencies": sorted(latencies), "errors": errors, "wall": wall}


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def cli_ask(cache: Path, threads: int) -> float:
    body = ask_body()
    command = [sys.executable, "-m", "framesift.cli.main", "ask", str(MEDIA / body["video"])]
    command += [body["question"], "--cache-dir", str(cache), "--threads", str(threads), "--json"]
    command += [a for option in body["options"] for a in ("--option", option)]
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=PHASE_SECONDS)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0 or not json.loads(done.stdout)["cached"]:
        raise SystemExit(f"framesift ask failed or was not cached: {done.stderr[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--asks", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="model threads per process")
    parser.add_argument(
        "--text-runtime",
        choices=["onnx", "numpy"],
        default="onnx",
        help="the server's question path (bundled text_runtime; default onnx, as for servers)",
    )
    parser.add_argument("--solo", type=int, default=20, help="asks of the lone client")
    parser.add_argument("--cli-runs", type=int, default=3, help="new-process asks")
    args = parser.parse_args()

    make_media()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(scratch) / "cache"
        server = Server(cache, args.threads, args.text_runtime)
        try:
            status, job = call(server.connect(), "POST", "/api/videos/demo.mp4/index")
            job = follow(server, job)
            assert status == 202 and job["state"] == "done", job
            load(server, args.clients, args.clients)  # first requests: connections, caches

            busy = load(server, args.asks, args.clients)
            rows.append(("cached video", args.clients, busy))
            print(rows[-1][:2], _summary(busy), flush=True)

            solo = load(server, args.solo, 1)
            cli = sorted(cli_ask(cache, args.threads) for _ in range(args.cli_runs))
            http_median = statistics.median(solo["latencies"])
            cli_median = statistics.median(cli)

            status, job = call(server.connect(), "POST", "/api/videos/footage_10min.mp4/index")
            assert status == 202 and job["state"] in ("queued", "running"), job
            job_state = {"state": job["state"]}

            def watch() -> None:
                job_state.update(follow(server, job))

            watcher = threading.Thread(target=watch)
            watcher.start()
            during = load(
                server, args.asks, args.clients, until=lambda: job_state["state"] == "done"
            )
            still_indexing = job_state["state"] in ("queued", "running")
            watcher.join()
            rows.append(("while indexing 10 min", args.clients, during))
            print(rows[-1][:2], _summary(during), flush=True)
        finally:
            server.close()

    lines = [
        f"framesift serve load, loopback only; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs; {args.threads} threads per process (server and CLI), "
        f"{args.clients} client threads, 1 index worker, 4 concurrent computations in the server; "
        f"bundled encoder (questions embedded by {args.text_runtime} in the server, numpy in "
        "the CLI), dks, budget 8, the demo's rocket question with 4 options.",
        "",
        "| phase | clients | asks served | errors | p50 ms | p95 ms | asks/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, clients, result in rows:
        lat = result["latencies"]
        lines.append(
            f"| {name} | {clients} | {len(lat)} | {result['errors']} | "
            f"{1000 * percentile(lat, 0.5):.0f} | {1000 * percentile(lat, 0.95):.0f} | "
            f"{len(lat) / result['wall']:.1f} |"
        )
    lines += [
        "",
        f"One client alone: warm ask over HTTP, median of {len(solo['latencies'])}: "
        f"{1000 * http_median:.0f} ms. Cached `framesift ask --json` in a new process, median of "
        f"{len(cli)}: {cli_median:.2f} s. Ratio HTTP / new process: {http_median / cli_median:.4f} "
        f"({cli_median / http_median:.0f}x faster).",
        "",
        f"While the 10-minute video was indexed (job {job_state['state']} at the end, "
        f"{'still running when the asks finished' if still_indexing else 'finished during'}): "
        f"{len(during['latencies'])} asks on the cached video served, {during['errors']} errors.",
    ]
    text = "\n".join(lines) + "\n"
    out = HERE / "results" / "serve_load.md"
    out.write_text(text)
    print("\n" + text + f"\nwritten to {out}")


def _summary(result: dict) -> str:
    lat = result["latencies"]
    if not lat:
        return f"none served, {result['errors']} errors"
    return (
        f"{len(lat)} served, {result['errors']} errors, p50 {1000 * percentile(lat, 0.5):.0f} ms, "
        f"p95 {1000 * percentile(lat, 0.95):.0f} ms"
    )


if __name__ == "__main__":
    main()
