"""``framesift index`` on this machine: folders and lists, worker processes, failures recorded,
cached videos skipped, a killed run resumed, patch tokens, and every refusal in one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from skimage import data

from framesift.cli.main import main
from framesift.index import find_videos, index_videos
from framesift.pipeline import Pipeline, PipelineConfig
from framesift.synth import pan, write_video

PHOTOS = (data.brick, data.coffee, data.chelsea, data.rocket)


def make_corpus(folder, count: int, seconds: int = 12):
    """``count`` videos panning over real photos, ``seconds`` long at 5 fps."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        frames = pan(PHOTOS[i % len(PHOTOS)](), 160, 128, 5 * seconds)
        write_video(folder / f"clip{i}.mp4", frames, fps=5)
    return folder


def table_row(out: str, label: str) -> list[str]:
    """The (videos, frames, seconds, errors) of a row of the final table."""
    line = next(line for line in out.splitlines() if line.startswith(label))
    return line[len(label) :].split()


def refused(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("framesift: error: "), captured.err
    assert "Traceback" not in captured.err and not captured.out
    return lines[0]


def test_workers_index_a_folder_record_a_bad_file_and_asks_are_cached(tmp_path, capsys):
    videos = make_corpus(tmp_path / "videos", 3)
    (videos / "broken.mp4").write_bytes(b"not a video at all")
    cache = tmp_path / "cache"
    argv = ["index", str(videos), "--workers", "2", "--cache-dir", str(cache)]
    assert main(argv) == 1  # one video failed; the others are indexed
    out = capsys.readouterr().out
    assert table_row(out, "indexed")[:2] == ["3", "36"]  # 12 candidate frames each at 1 fps
    assert table_row(out, "failed")[0] == "1" and table_row(out, "failed")[-1] == "1"
    assert "broken.mp4: VideoDecodeError" in out and "with 2 worker(s) on local processes" in out
    ledger = [json.loads(line) for line in next((cache / "index-runs").iterdir()).open()]
    assert sorted(r["status"] for r in ledger) == ["failed", "indexed", "indexed", "indexed"]
    for clip in sorted(videos.glob("clip*.mp4")):
        assert main(["ask", str(clip), "What is shown?", "--json", "--cache-dir", str(cache)]) == 0
        assert json.loads(capsys.readouterr().out)["cached"] is True
    assert main(argv) == 1  # again: nothing left to build, the bad file tried again
    out = capsys.readouterr().out
    assert table_row(out, "indexed")[:2] == ["0", "0"]
    assert table_row(out, "already cached")[0] == "3"


def test_a_list_names_videos_relative_to_itself(tmp_path, capsys):
    make_corpus(tmp_path / "videos", 2, seconds=4)
    listing = tmp_path / "corpus.txt"
    listing.write_text("# the corpus\nvideos/clip0.mp4\n\nvideos/clip1.mp4\nvideos/clip0.mp4\n")
    argv = ["index", "--from-list", str(listing), "--cache-dir", str(tmp_path / "cache")]
    assert main([*argv, "--frames", "3"]) == 0
    assert table_row(capsys.readouterr().out, "indexed")[:2] == ["2", "6"]  # clip0 once


def test_a_killed_run_started_again_does_only_what_is_left(tmp_path, capsys):
    videos = make_corpus(tmp_path / "videos", 4, seconds=20)
    argv = ["index", str(videos), "--cache-dir", str(tmp_path / "cache")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "framesift.cli.main", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    runs = tmp_path / "cache" / "index-runs"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if runs.is_dir() and any(f.read_text().count("\n") >= 1 for f in runs.iterdir()):
                break
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    done_before = sum(f.read_text().count("\n") for f in runs.iterdir())
    assert 1 <= done_before < 4, "the run should have been killed part-way"
    assert main(argv) == 0
    out = capsys.readouterr().out
    cached, indexed = table_row(out, "already cached")[0], table_row(out, "indexed")[0]
    # a video whose entry was committed just before the kill is found cached too
    assert int(cached) >= done_before and int(cached) + int(indexed) == 4


def test_a_killed_worker_process_is_replaced_and_its_video_tried_again(tmp_path):
    videos = make_corpus(tmp_path / "videos", 4, seconds=20)
    killed: list[int] = []

    def kill_a_worker(record):
        if not killed:
            finished_by = int(record["worker"].rpartition(":")[2])
            spawned = [p for p in psutil.Process().children() if p.pid != finished_by]
            busy = [p for p in spawned if "spawn_main" in " ".join(p.cmdline())]  # workers
            os.kill(busy[0].pid, signal.SIGKILL)
            killed.append(busy[0].pid)
            before.update(p.pid for p in psutil.Process().children())

    before: set[int] = set()
    config = PipelineConfig(cache_dir=str(tmp_path / "cache"))
    report = index_videos(find_videos([videos]), config, workers=2, on_record=kill_a_worker)
    assert killed and not report.failed
    workers = {int(r["worker"].rpartition(":")[2]) for r in report.records}
    assert workers - before, "a fresh worker should have taken over the videos in flight"
    assert sorted(r["video"] for r in report.records) == find_videos([videos])
    pipeline = Pipeline(config)
    assert all(pipeline.is_indexed(video) for video in find_videos([videos]))


def test_patches_build_the_tokens_merge_reads(tmp_path, capsys):
    videos = make_corpus(tmp_path / "videos", 1, seconds=4)
    clip = str(videos / "clip0.mp4")
    ask = ["ask", clip, "What is shown?", "--merge", "drop", "--json"]
    plain, patched = tmp_path / "plain", tmp_path / "patched"
    assert main(["index", clip, "--cache-dir", str(plain)]) == 0
    assert main(["index", clip, "--patches", "--cache-dir", str(patched)]) == 0
    capsys.readouterr()
    assert main([*ask, "--cache-dir", str(plain)]) == 0
    assert json.loads(capsys.readouterr().out)["cached"] is False  # features only
    assert main([*ask, "--cache-dir", str(patched)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["cached"] is True and result["tokens"]["after"] > 0


@pytest.mark.parametrize(
    "argv, why",
    [
        (["index"], "no videos"),
        (["index", "{tmp}/nowhere.mp4"], "video not found"),
        (["index", "--from-list", "{tmp}/list.txt"], "video not found"),
        (["index", "--from-list", "{tmp}/absent.txt"], "cannot read the video list"),
        (["index", "{tmp}/empty"], "no video files in folder"),
        (["index", "{tmp}/videos", "--workers", "0"], "--workers must be at least 1"),
        (["index", "{tmp}/videos", "--no-cache"], "--no-cache"),
        (["index", "{tmp}/videos", "--ray", "127.0.0.1:1"], "no Ray cluster answers"),
        (["index", "{tmp}/videos", "--ray", "127.0.0.1:port"], "expects HOST:PORT"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, argv, why):
    make_corpus(tmp_path / "videos", 1, seconds=2)
    (tmp_path / "empty").mkdir()
    (tmp_path / "list.txt").write_text("videos/clip0.mp4\nvideos/gone.mp4\n")
    argv = [a.format(tmp=tmp_path) for a in argv] + ["--cache-dir", str(tmp_path / "cache")]
    started = time.monotonic()
    assert why in refused(capsys, argv)
    assert time.monotonic() - started < 30  # an address that does not answer: seconds
    assert not (tmp_path / "cache" / "index-runs").exists()


def test_eval_workers_need_ray(tmp_path, capsys):
    argv = ["eval", "--benchmark", "generic", "--annotations", str(tmp_path / "q.jsonl")]
    argv += ["--videos", str(tmp_path), "--out", str(tmp_path / "out"), "--workers", "2"]
    assert "workers counts Ray actors" in refused(capsys, argv)


def test_without_ray_installed_the_package_works_and_ray_is_one_line(tmp_path):
    """``import ray`` failing (sys.modules entry None) as it does where Ray is not installed."""
    make_corpus(tmp_path / "videos", 1, seconds=2)
    script = (
        "import sys; sys.modules['ray'] = None\n"
        "from framesift.cli.main import main\n"
        "import framesift.index, framesift.distributed, framesift.eval.run\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    argv = ["index", str(tmp_path / "videos"), "--ray", "--cache-dir", str(tmp_path / "cache")]
    proc = subprocess.run(
        [sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "framesift: error: --ray needs Ray, which is not installed: pip install 'framesift[ray]'"
    )
