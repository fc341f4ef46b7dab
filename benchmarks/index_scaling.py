"""Indexing a corpus: 1 and 2 workers, as local processes and on a local Ray cluster.

    python benchmarks/index_scaling.py [--videos 20] [--minutes 2] [--fps 1] [--repeats 3]

Generates (once, under benchmarks/.media/, git-ignored) ``--videos`` clips of the real
vtest.avi footage, each starting at another frame so no two share cache entries, then indexes
all of them with ``framesift.index.index_videos`` four ways, each into a fresh cache:
``--workers 1`` and ``2`` as local processes, and 1 and 2 Ray actors on a cluster of two
worker nodes started with ``ray start`` on the loopback interface (a head node with no CPUs,
two nodes with one CPU each, so each actor has a node of its own). Each run is driven from a
fresh interpreter; wall time counts all a user waits for: starting the workers, loading the
models, joining the cluster. The figures
per frame (cache bytes, video bytes read) are what the 10-node estimate is made of.

Every Ray process this script starts is stopped by it (``ray stop``), on success or failure.
Prints a markdown table and writes it to benchmarks/results/index_scaling.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
VTEST = HERE.parent / "tests" / "assets" / "vtest.avi"
WIDTH, HEIGHT, FPS = 320, 240, 10
RAY_TIMEOUT_S = 120  # each `ray start` / `ray stop`
RAY = Path(sys.executable).with_name("ray")
LOOPBACK = "127.0.0.2"


def make_corpus(count: int, minutes: float) -> list[str]:
    import av

    from framesift.synth import write_video

    folder = HERE / ".media" / f"index_scaling_{count}x{minutes:g}min"
    folder.mkdir(parents=True, exist_ok=True)
    with av.open(str(VTEST)) as container:
        loop = [
            f.to_ndarray(width=WIDTH, height=HEIGHT, format="rgb24")
            for f in container.decode(video=0)
        ]
    total = int(minutes * 60 * FPS)
    paths = []
    for i in range(count):
        path = folder / f"clip{i:02d}.mp4"
        if not path.exists():
            print(f"generating {path.name}: {total} frames (once)", flush=True)
            frames = (loop[(37 * i + k) % len(loop)] for k in range(total))
            tmp = path.with_suffix(".tmp.mp4")
            write_video(tmp, frames, FPS, preset="ultrafast")
            tmp.rename(path)
        paths.append(str(path))
    return paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_cmd(*args: str) -> None:
    done = subprocess.run(
        [str(RAY), *args], timeout=RAY_TIMEOUT_S, capture_output=True, text=True, env=os.environ
    )
    if done.returncode:
        raise RuntimeError(f"ray {' '.join(args)} failed:\n{done.stderr[-2000:]}")


class LocalRayCluster:
    """A head (no CPUs: it schedules) and two one-CPU worker nodes on the loopback interface,
    in a temp folder of their own; ``ray stop`` on exit, whatever happened.

    The nodes use 127.0.0.2: Ray replaces 127.0.0.1 given to ``ray start`` with the machine's
    network address, but takes any other loopback address as it is, so every connection
    between the nodes stays on the loopback interface (Ray's servers still listen on every
    interface in cluster mode; it has no option to narrow that). Token authentication on.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.address = f"{LOOPBACK}:{self.port}"
        self.temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: socket paths

    def __enter__(self) -> LocalRayCluster:
        os.environ.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token")  # and the driver
        common = ["--node-ip-address", LOOPBACK, "--disable-usage-stats"]
        try:
            head = ["--head", "--port", str(self.port), "--num-cpus", "0", "--temp-dir", self.temp]
            ray_cmd("start", *head, "--include-dashboard", "false", *common)
            for _ in range(2):
                ray_cmd("start", "--address", self.address, "--num-cpus", "1", *common)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        stop = [str(RAY), "stop", "--force"]
        subprocess.run(stop, timeout=RAY_TIMEOUT_S, capture_output=True)
        shutil.rmtree(self.temp, ignore_errors=True)


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def measure(videos: list[str], fps: float, workers: int, ray: str | None) -> dict:
    """One setting, driven from a fresh interpreter, as a user's `framesift index` would be."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as driver:
        return driver.submit(measure_here, videos, fps, workers, ray).result()


def measure_here(videos: list[str], fps: float, workers: int, ray: str | None) -> dict:
    from framesift.index import index_videos
    from framesift.pipeline import PipelineConfig

    cache = Path(tempfile.mkdtemp(prefix="framesift-index-bench-"))
    try:
        config = PipelineConfig(fps=fps, cache_dir=str(cache))
        report = index_videos(videos, config, workers=workers, ray=ray)
        assert not report.failed, report.table()
        frames = report.totals["indexed"]["frames"]
        entries = folder_bytes(cache) - folder_bytes(cache / "index-runs")
        return {"wall": report.wall_seconds, "frames": frames, "cache_bytes": entries}
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--fps", type=float, default=1.0, help="candidate frames per second")
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each setting; the fastest counts"
    )
    args = parser.parse_args()

    videos = make_corpus(args.videos, args.minutes)
    video_bytes = sum(os.path.getsize(v) for v in videos)
    load_before = os.getloadavg()[0]
    tries: dict[tuple[str, int], list[dict]] = {}
    for repeat in range(args.repeats):  # settings interleaved: a busy spell hits all alike
        for workers in (1, 2):
            print(f"[{repeat + 1}/{args.repeats}] local, {workers} worker(s)...", flush=True)
            tries.setdefault(("local", workers), []).append(
                measure(videos, args.fps, workers, None)
            )
        with LocalRayCluster() as cluster:
            for workers in (1, 2):
                print(f"[{repeat + 1}/{args.repeats}] Ray, {workers} worker(s)...", flush=True)
                tries.setdefault(("Ray", workers), []).append(
                    measure(videos, args.fps, workers, cluster.address)
                )
    runs = {key: min(results, key=lambda r: r["wall"]) for key, results in tries.items()}
    load_after = os.getloadavg()[0]

    cores = os.cpu_count()
    lines = [
        "# Indexing a corpus: local worker processes and a local Ray cluster",
        "",
        f"{args.videos} videos of {args.minutes:g} min (real vtest.avi footage, H.264 "
        f"{WIDTH}x{HEIGHT} {FPS} fps, {video_bytes / 2**20:.1f} MiB in all), candidate frames "
        f"at {args.fps:g} fps, bundled encoder (ONNX Runtime, its default threads: one per "
        f"physical core, in each worker); {cores} CPU cores, {platform.processor() or 'cpu'}, "
        f"Python {platform.python_version()}. Ray: head node without CPUs plus two worker "
        "nodes of 1 CPU each, all on loopback address 127.0.0.2 (`ray start`). Wall time "
        "includes starting workers and loading models (and joining the cluster for Ray); "
        f"the fastest of {args.repeats} interleaved runs of each setting. The machine is "
        f"shared: load average {load_before:.1f} before the runs, {load_after:.1f} after.",
        "",
        "| where | workers | wall s | slowest run s | frames | frames/s | vs 1 worker | vs local |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (where, workers), r in runs.items():
        rate = r["frames"] / r["wall"]
        scaling = runs[where, 1]["wall"] / r["wall"]
        overhead = r["wall"] / runs["local", workers]["wall"]
        slowest = max(t["wall"] for t in tries[where, workers])
        lines.append(
            f"| {where} | {workers} | {r['wall']:.1f} | {slowest:.1f} | {r['frames']:,} | "
            f"{rate:.1f} | {scaling:.2f}x | {overhead:.2f}x |"
        )
    best = runs["Ray", 2]
    frames = best["frames"]
    per_frame = best["cache_bytes"] / frames
    video_per_frame = video_bytes / frames
    per_worker = best["frames"] / best["wall"] / 2
    hours = 1000
    corpus_frames = hours * 3600 * args.fps
    node_rate = per_worker * 2  # a node like this one, two workers
    cluster_rate = 10 * node_rate
    lines += [
        "",
        "`vs 1 worker`: wall time of 1 worker over this row's (the scaling ratio); "
        "`vs local`: this row's wall time over local processes with as many workers "
        "(Ray's overhead). Reading them: one worker's ONNX Runtime already uses both cores, so "
        "a second worker on the same two cores can only fill the gaps (decoding, Python); and "
        "other jobs share these cores, so runs of one setting differ (the fastest and "
        "slowest columns) by about as much as the settings do. Ray's cost over local "
        "processes is fixed per run (joining the cluster, starting actors: seconds) plus one "
        "small message per video, which is lost in that spread here.",
        "",
        "## What a 10-node cluster would need (from these figures)",
        "",
        f"- Cache: {per_frame / 1024:.2f} KiB per candidate frame (features of the bundled "
        f"encoder), so {hours:,} hours of video at {args.fps:g} fps ({corpus_frames:,.0f} "
        f"frames) is {corpus_frames * per_frame / 2**30:.1f} GiB on the shared cache "
        "filesystem every node mounts. Patch tokens (`--patches`, answerers that read "
        "tokens) are per-frame grids and take tens of times more.",
        f"- Throughput: {per_worker:.1f} frames/s per worker here; 10 nodes of 2 such "
        f"workers index about {cluster_rate:.0f} frames/s, {hours:,} hours in "
        f"{corpus_frames / cluster_rate / 3600:.1f} h, if the shared filesystem keeps up.",
        f"- Network: each node reads its videos from shared storage "
        f"({video_per_frame / 1024:.1f} KiB of these videos per candidate frame, i.e. "
        f"{video_per_frame * node_rate * 8 / 1e6:.2f} Mbit/s per node at this rate; real "
        "footage scales with its bitrate) and writes "
        f"{per_frame * node_rate * 8 / 1e6:.3f} Mbit/s of cache entries; 10 nodes: "
        f"{10 * (video_per_frame + per_frame) * node_rate * 8 / 1e6:.1f} Mbit/s in all. "
        "Ray's own traffic is one small message per video.",
    ]
    table = "\n".join(lines)
    print(table)
    out = HERE / "results" / "index_scaling.md"
    out.write_text(table + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
