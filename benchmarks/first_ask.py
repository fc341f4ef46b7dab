"""The first question on a long video: decoding speed, decode/encode overlap, fingerprinting.

    python benchmarks/first_ask.py [--minutes 60] [--ask-minutes 10] [--threads 2]
                                   [--only cli]

Generates (once, into the system temp folder, never committed) an H.264 854x480 25 fps video
of the real vtest.avi footage looped to ``--minutes`` (x264 defaults: a keyframe every 250
frames, B-frames; the loop is encoded once and its packets repeated with shifted times).
Measures, each in the same run:

1. decoding its 1 fps candidate pool (224x224 frames) as x real time: a plain PyAV pass (every
   frame decoded with FFmpeg's threads, the candidates converted: framesift's previous
   decoder) against framesift's decoder (unneeded non-reference frames skipped) in one
   process and in worker processes; each in a fresh process, with its peak memory. Wall time
   depends on what else the machine runs; CPU seconds over the cores bound what a quiet
   machine gives, so both are shown;
2. a first ask's decode + encode (bundled encoder) of the first ``--ask-minutes``:
   sequential (decode a batch, encode it, one thread) against ``framesift.cache.extract``
   (decoding runs ahead in a thread), and the whole video overlapped;
3. identifying the file: full BLAKE2b hash against the sampled fingerprint;
4. the change detector on real footage (vtest.avi, tree.avi at 1 fps): frames it reuses and
   the cosine of reused to exact embeddings;
5. what a user waits for, end to end: ``framesift ask`` in a new process (interpreter start,
   imports and model loading included) with an empty feature cache and the model files
   already built (as after ``framesift demo``), on the 1-hour video and on a 10-minute one
   made the same way; then the 10-minute video re-asked, with other questions, in new
   processes once its features are cached (median of ``--repeats``), as a ratio to its first
   ask.

Prints markdown tables and writes them to benchmarks/results/first_ask.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ASSETS = HERE.parent / "tests" / "assets"
WIDTH, HEIGHT, FPS = 854, 480, 25
FRAME = (224, 224)


def make_long_video(minutes: float) -> Path:
    """vtest.avi at 854x480 25 fps, encoded once (x264 veryfast, keyint 250, B-frames) and
    repeated packet by packet to ``minutes``; kept in the temp folder between runs."""
    import av

    from framesift.synth import write_video

    folder = Path(tempfile.gettempdir()) / "framesift-benchmarks"
    path = folder / f"vtest_loop_{minutes:g}min_{WIDTH}x{HEIGHT}_gop250.mp4"
    if path.exists():
        return path
    folder.mkdir(exist_ok=True)
    print(f"generating {path} (once)...", flush=True)
    once = folder / "loop.mp4"
    with av.open(str(ASSETS / "vtest.avi")) as container:
        frames = container.decode(video=0)
        write_video(
            once, (f.to_ndarray(width=WIDTH, height=HEIGHT, format="rgb24") for f in frames), FPS
        )
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(once)) as src, av.open(str(tmp), "w") as out:
        stream = src.streams.video[0]
        packets = [p for p in src.demux(stream) if p.size]
        shift = round(Fraction(len(packets), FPS) / stream.time_base)  # one packet a frame
        copy = out.add_stream_from_template(stream)
        for i in range(round(minutes * 60 * FPS / len(packets))):
            for p in packets:
                q = av.Packet(bytes(p))
                q.pts, q.dts, q.duration = p.pts + i * shift, p.dts + i * shift, p.duration
                q.is_keyframe, q.time_base, q.stream = p.is_keyframe, stream.time_base, copy
                out.mux(q)
    tmp.rename(path)
    once.unlink()
    return path


def cpu_seconds() -> float:
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def plain_pool(video: str, fps: float) -> int:
    """Every frame decoded (FFmpeg threads on), the one on screen at each target converted."""
    import av

    from framesift.decode import Resize
    from framesift.decode.resize import to_rgb

    resize, kept, target, prev = Resize(*FRAME, crop=True), 0, 0.0, None
    with av.open(video) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            while prev is not None and frame.time > target + 1e-6:
                to_rgb(prev, resize)
                kept, target = kept + 1, target + 1 / fps
            prev = frame
    return kept + (prev is not None)


def framesift_pool(video: str, fps: float, workers: int) -> int:
    from framesift.decode import Resize, Sampling, decode_frames

    pool = decode_frames(video, Sampling(fps=fps), Resize(*FRAME, crop=True), workers=workers)
    return sum(len(batch.times) for batch in pool)


def ask(video: str, minutes: float, threads: int, overlapped: bool, processes: int | None) -> dict:
    """Decode + encode of the first ``minutes`` at 1 fps, as a first ask does (the encoder
    loaded and warm before the clock starts); ``processes``: decoding processes for long
    windows (None: what ``extract`` chooses)."""
    from framesift.cache import extract, extraction
    from framesift.decode import Sampling, decode_frames
    from framesift.encode.bundled import BundledEncoder

    extraction.DECODE_WORKERS = processes

    encoder = BundledEncoder(threads=threads)
    encoder.encode_frames(np.zeros((1, *FRAME, 3), np.uint8))  # warm, outside the timing
    sampling = Sampling(fps=1, end=minutes * 60)
    start = time.perf_counter()
    if overlapped:
        result = extract(video, sampling, encoder, None)
        frames, decode_s, encode_s = len(result.features.times), result.decode_s, result.encode_s
        return {"frames": frames, "decode": decode_s, "encode": encode_s,
                "wall": time.perf_counter() - start}  # fmt: skip
    frames, decode_s, encode_s = 0, 0.0, 0.0
    batches = decode_frames(video, sampling, encoder.info.resize, workers=processes)
    while True:
        t0 = time.perf_counter()
        batch = next(batches, None)
        t1 = time.perf_counter()
        decode_s += t1 - t0
        if batch is None:
            break
        encoder.encode_frames(batch.pixels)
        encode_s += time.perf_counter() - t1
        frames += len(batch.times)
    return {"frames": frames, "decode": decode_s, "encode": encode_s,
            "wall": time.perf_counter() - start}  # fmt: skip


def _measure(fn, args, queue) -> None:
    c0, t0 = cpu_seconds(), time.perf_counter()
    out = fn(*args)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    queue.put({"out": out, "wall": wall, "cpu": cpu, "peak": peak_rss_mib()})


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited at exec)."""
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line.split()[1] for line in status if line.startswith("VmHWM"))) / 1024


def in_fresh_process(fn, *args) -> dict:
    """Run ``fn(*args)`` in a new process: wall, CPU (its workers too), peak RSS of its own,
    and the load average (1 min) before and after."""
    before = os.getloadavg()[0]
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(fn, args, queue))
    process.start()
    result = queue.get()
    process.join()
    return {**result, "load": f"{before:.1f} -> {os.getloadavg()[0]:.1f}"}


def row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def bench_decode(video: Path, seconds: float) -> list[str]:
    cores = os.cpu_count() or 1
    rows = [
        row("decoder", "frames", "wall (s)", "x real time", "CPU (s)", "cores busy",
            f"x real time at {cores} busy cores", "peak RSS (MiB)", "load average"),
        row(*["---"] * 9),
    ]  # fmt: skip
    runs = [
        ("plain PyAV pass (FFmpeg threads)", plain_pool, (str(video), 1.0)),
        ("framesift, 1 process", framesift_pool, (str(video), 1.0, 1)),
        (f"framesift, {cores} worker processes", framesift_pool, (str(video), 1.0, cores)),
    ]
    for label, fn, args in runs:
        r = in_fresh_process(fn, *args)
        rows.append(
            row(label, r["out"], f"{r['wall']:.1f}", f"{seconds / r['wall']:.0f}x",
                f"{r['cpu']:.1f}", f"{r['cpu'] / r['wall']:.2f}",
                f"{seconds / (r['cpu'] / cores):.0f}x", f"{r['peak']:.0f}", r["load"])
        )  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def bench_ask(video: Path, minutes: float, total_minutes: float, threads: int) -> list[str]:
    rows = [
        row("first ask", "video", "frames", "decode (s)", "encode (s)", "wall (s)", "CPU (s)",
            "vs sequential", "peak RSS (MiB)", "load average"),
        row(*["---"] * 10),
    ]  # fmt: skip
    cores = os.cpu_count() or 1
    runs = [
        ("sequential: decode a batch, then encode it (one decoding process)", minutes, False, 1),
        ("overlapped, decoding in one thread", minutes, True, 1),
        (f"overlapped: `framesift.cache.extract` ({cores} decoding processes)", minutes, True,
         None),
        (f"overlapped: `framesift.cache.extract` ({cores} decoding processes)", total_minutes,
         True, None),
    ]  # fmt: skip
    base = None
    for label, length, overlapped, processes in runs:
        r = in_fresh_process(ask, str(video), length, threads, overlapped, processes)
        out = r["out"]
        base = base or out["wall"]
        rows.append(
            row(label, f"{length:.0f} min", out["frames"], f"{out['decode']:.1f}",
                f"{out['encode']:.1f}", f"{out['wall']:.1f}", f"{r['cpu']:.1f}",
                f"{base / out['wall']:.2f}x" if length == minutes else "-", f"{r['peak']:.0f}",
                r["load"])
        )  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def bench_fingerprint(video: Path) -> list[str]:
    from framesift.cache.fingerprints import content_digest, fingerprint, sampled_ranges

    size = video.stat().st_size
    read = sum(length for _, length in sampled_ranges(size))
    t0 = time.perf_counter()
    identity = fingerprint(video)
    t1 = time.perf_counter()
    content_digest(identity)
    t2 = time.perf_counter()
    full, sampled = t2 - t1, t1 - t0
    return [
        row(f"identity of a {size / 1e6:.0f} MB file", "bytes read", "ms", "speed"),
        row(*["---"] * 4),
        row("full BLAKE2b hash (`Cache(full_hash=True)`)", f"{size / 1e6:.0f} MB",
            f"{1000 * full:.0f}", "1x"),
        row("sampled fingerprint (default)", f"{read / 1e3:.0f} KB", f"{1000 * sampled:.1f}",
            f"{full / sampled:.0f}x"),
    ]  # fmt: skip


def bench_changes(threshold: float) -> list[str]:
    from framesift.cache import extract
    from framesift.decode import Sampling
    from framesift.encode import build_encoder

    encoder = build_encoder("bundled")
    rows = [
        row("footage (1 fps)", "frames", f"reused (threshold {threshold:g})",
            "cosine of reused to exact: mean", "min",
            "consecutive exact embeddings within cosine 0.95"),
        row(*["---"] * 6),
    ]  # fmt: skip
    for name in ("vtest.avi", "tree.avi"):
        exact = extract(ASSETS / name, Sampling(fps=1), encoder, None).features.embeddings
        reusing = extract(ASSETS / name, Sampling(fps=1), encoder, None, reuse_threshold=threshold)
        got = reusing.features.embeddings
        changed = ~(got == exact).all(axis=1)
        cos = (got * exact).sum(axis=1)[changed]
        similar = float(((exact[1:] * exact[:-1]).sum(axis=1) >= 0.95).mean())
        rows.append(
            row(name, len(exact), f"{reusing.reused} ({reusing.reused / len(exact):.0%})",
                f"{cos.mean():.3f}" if len(cos) else "-", f"{cos.min():.3f}" if len(cos) else "-",
                f"{similar:.0%}")
        )  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def cli_ask(video: Path, question: str, cache: Path) -> dict:
    """``framesift ask VIDEO QUESTION`` in a new process with ``FRAMESIFT_CACHE=cache``: wall
    and CPU seconds (its decoding workers included) and the timings line it printed."""
    command = [sys.executable, "-m", "framesift.cli.main", "ask", str(video), question]
    # Python's default, bytecode cached, even where the environment turns it off (this
    # sandbox does): otherwise every process compiles framesift's modules again (~0.05 s).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    c0, t0 = cpu_seconds(), time.perf_counter()
    out = subprocess.run(
        command,
        env={**env, "FRAMESIFT_CACHE": str(cache)},
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    timings = next(line for line in out.stdout.splitlines() if line.startswith("timings:"))
    return {"wall": wall, "cpu": cpu, "timings": timings.removeprefix("timings: ")}


def bench_cli(long_video: Path, short_video: Path, repeats: int) -> list[str]:
    from framesift.hub import default_cache_dir

    models = default_cache_dir() / "models"
    # the model files once, outside the timings (what `framesift demo` leaves behind)
    subprocess.run(
        [sys.executable, "-m", "framesift.cli.main", "ask", str(ASSETS / "tree.avi"), "a tree"],
        env={**os.environ, "FRAMESIFT_CACHE": str(models.parent)},
        capture_output=True,
        check=True,
    )
    rows = [
        row("`framesift ask`, new process", "video", "wall (s)", "CPU (s)", "vs first ask",
            "load average", "its timings line"),
        row(*["---"] * 7),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for name, video in (("1 h", long_video), ("10 min", short_video)):
            cache = Path(tmp) / name.replace(" ", "")
            cache.mkdir()
            (cache / "models").symlink_to(models)  # warm models, empty feature cache
            before = os.getloadavg()[0]
            first = cli_ask(video, "Is there a dog?", cache)
            load = f"{before:.1f} -> {os.getloadavg()[0]:.1f}"
            rows.append(
                row("first ask (features computed)", name, f"{first['wall']:.1f}",
                    f"{first['cpu']:.1f}", "1x", load, first["timings"])
            )  # fmt: skip
            print(rows[-1], flush=True)
        questions = ["What is the man holding?", "When does the red car appear?", "a bicycle"]
        before = os.getloadavg()[0]
        again = [cli_ask(video, questions[i % 3], cache) for i in range(repeats)]
        median = sorted(again, key=lambda r: r["wall"])[len(again) // 2]
        rows.append(
            row(f"re-ask, other questions (median of {repeats})", "10 min",
                f"{median['wall']:.2f}", f"{median['cpu']:.2f}",
                f"{first['wall'] / median['wall']:.0f}x faster",
                f"{before:.1f} -> {os.getloadavg()[0]:.1f}", median["timings"])
        )  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=60, help="length of the generated video")
    parser.add_argument(
        "--ask-minutes", type=float, default=10, help="minutes asked about in part 2"
    )
    parser.add_argument("--threads", type=int, default=2, help="encoder (ONNX Runtime) threads")
    parser.add_argument(
        "--reuse-threshold", type=float, default=4.0, help="change detector (part 4)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="re-asks timed (part 5)")
    parser.add_argument(
        "--only", choices=["cli"], help="run part 5 alone (writes first_ask_cli.md)"
    )
    args = parser.parse_args()

    video = make_long_video(args.minutes)
    short = make_long_video(args.ask_minutes)
    from framesift.decode import probe

    info = probe(video)
    load = os.getloadavg()[0]
    header = (
        f"{platform.machine()}, {os.cpu_count()} cores, encoder (ONNX Runtime) threads "
        f"{args.threads}; load average {load:.1f} at the start (a shared machine: other jobs may "
        f"run meanwhile, and wall times move with them; CPU seconds count every process of a "
        f"row); video: {info.width}x{info.height} {info.fps:g} fps {info.codec}, "
        f"{info.duration / 60:.1f} min, keyframe every 250 frames, B-frames (vtest.avi looped)."
    )
    print(header, flush=True)
    parts = [
        ("1. Decoding the 1 fps pool (224x224 frames)", lambda: bench_decode(video, info.duration)),
        (
            f"2. First ask: decode + encode at 1 fps (bundled encoder, {args.threads} threads)",
            lambda: bench_ask(video, args.ask_minutes, info.duration / 60, args.threads),
        ),
        ("3. Identifying the video file", lambda: bench_fingerprint(video)),
        ("4. Change detector on real footage", lambda: bench_changes(args.reuse_threshold)),
        (
            "5. End to end: `framesift ask` in a new process (the defaults: bundled encoder, "
            "1 fps, DKS)",
            lambda: bench_cli(video, short, args.repeats),
        ),
    ]
    if args.only == "cli":
        parts = parts[-1:]
    text = "# framesift first-ask benchmark\n\n" + header + "\n"
    for title, run in parts:
        text += f"\n## {title}\n\n" + "\n".join(run()) + "\n"
    out = HERE / "results" / ("first_ask_cli.md" if args.only else "first_ask.md")
    out.write_text(text)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
