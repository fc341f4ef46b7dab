"""Indexing and evaluation on a real local Ray instance (``ray.init(num_cpus=2)``, loopback).

The commands join the Ray this module starts (``--ray`` uses an initialised Ray as it is),
so the cluster starts once; it is shut down when the module ends. Each wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal

import psutil
import pytest
from skimage import data

from framesift.cli.main import main
from framesift.distributed.cluster import SINGLE_MACHINE
from framesift.index import find_videos, index_videos
from framesift.pipeline import Pipeline, PipelineConfig
from framesift.synth import fit, pan, write_video

# Ray's single-machine mode, as `--ray` without an address starts it: it is read when Ray is
# imported, and makes every Ray server listen on the loopback interface only
os.environ.setdefault(SINGLE_MACHINE, "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
ray = pytest.importorskip("ray", reason="framesift[ray] is installed by setup.sh and CI")

PHOTOS = {"a cat": data.chelsea, "a cup of coffee": data.coffee, "a rocket": data.rocket}
OPTIONS = ["a cat", "a cup of coffee", "a rocket", "a horse"]


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_listens_on_the_loopback_interface_only():
    listening = set()
    for process in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            sockets = process.net_connections("inet")
            listening |= {c.laddr.ip for c in sockets if c.status == psutil.CONN_LISTEN}
    assert listening and {ip.removeprefix("::ffff:") for ip in listening} == {"127.0.0.1"}


def footage(path, seconds: int, needle=None, at: int = 0):
    """``seconds`` of panning over a real photo at 5 fps, a real photo shown for 3 s at ``at``."""
    frames = list(pan(data.brick(), 160, 128, 5 * seconds))
    if needle is not None:
        frames[5 * at : 5 * (at + 3)] = [fit(needle(), 160, 128)] * 15
    write_video(path, frames, fps=5)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Three 16 s videos, each hiding one real photo, and eval questions about them."""
    root = tmp_path_factory.mktemp("corpus")
    videos = root / "videos"
    videos.mkdir()
    lines = []
    for i, (answer, photo) in enumerate(PHOTOS.items()):
        footage(videos / f"v{i}.mp4", 16, photo, at=3 + 4 * i)
        for j, question in enumerate(["What is shown?", "Which object appears?"]):
            lines.append(
                {
                    "qid": f"q{i}{j}",
                    "video": f"v{i}",
                    "question": question,
                    "options": OPTIONS,
                    "answer": answer,
                    "question_type": f"type{j}",
                }
            )
    lost = {"qid": "lost", "video": "missing", "question": "What is shown?", "options": OPTIONS}
    lines.insert(3, {**lost, "answer": "A"})
    annotations = root / "questions.jsonl"
    annotations.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return annotations, videos


def test_index_on_ray_then_every_ask_is_cached(corpus, tmp_path, capsys):
    _, videos = corpus
    cache = tmp_path / "cache"
    assert main(["index", str(videos), "--ray", "--workers", "2", "--cache-dir", str(cache)]) == 0
    table = capsys.readouterr().out
    assert "with 2 worker(s) on Ray" in table
    indexed = next(line for line in table.splitlines() if line.startswith("indexed"))
    assert indexed.split()[1:3] == ["3", "48"]  # 3 videos, 16 candidate frames each at 1 fps
    for video in sorted(videos.iterdir()):
        ask = ["ask", str(video), "Which object appears?", "--json", "--cache-dir", str(cache)]
        assert main(ask) == 0
        assert json.loads(capsys.readouterr().out)["cached"] is True


def eval_args(corpus, out, cache, *extra):
    annotations, videos = corpus
    return [
        *("eval", "--benchmark", "generic", "--annotations", str(annotations)),
        *("--videos", str(videos), "--out", str(out), "--cache-dir", str(cache)),
        *("--budget", "4", *extra),
    ]


def records(out):
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def without_timings(rows):
    return [{k: v for k, v in r.items() if k != "timings"} for r in rows]


@pytest.fixture(scope="module")
def local_run(corpus, tmp_path_factory):
    root = tmp_path_factory.mktemp("local")
    assert main(eval_args(corpus, root / "out", root / "cache")) == 0
    return root / "out"


def test_eval_on_ray_writes_what_a_local_run_writes(corpus, local_run, tmp_path):
    out = tmp_path / "out"
    assert main(eval_args(corpus, out, tmp_path / "cache", "--ray", "--workers", "2")) == 0
    assert without_timings(records(out)) == without_timings(records(local_run))  # order too
    ray_results = json.loads((out / "results.json").read_text())
    local_results = json.loads((local_run / "results.json").read_text())
    for results in (ray_results, local_results):
        del results["results"]["generic"]["latency_seconds"], results["date"]
    assert ray_results == local_results


@pytest.mark.parametrize("first, then", [([], ["--ray"]), (["--ray"], [])])
def test_a_run_resumes_across_local_and_ray(corpus, local_run, tmp_path, first, then):
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert main(eval_args(corpus, out, cache, *first)) == 0
    samples = out / "samples.jsonl"
    kept = samples.read_text().splitlines(keepends=True)[:3]
    samples.write_text("".join(kept) + '{"qid": "q11", "predic')  # killed mid-write
    assert main(eval_args(corpus, out, cache, *then)) == 0
    resumed = records(out)
    assert [r["qid"] for r in resumed] == [r["qid"] for r in records(local_run)]
    assert [r["prediction"] for r in resumed] == [r["prediction"] for r in records(local_run)]


def worker_processes(name: str) -> list[psutil.Process]:
    """This test's Ray worker processes of actor class ``name`` (titled ``ray::NAME[.METHOD]``)."""
    children = psutil.Process().children(recursive=True)
    return [p for p in children if p.name().startswith(f"ray::{name}")]


def test_a_killed_worker_is_restarted_and_its_video_retried(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for i in range(5):
        footage(videos / f"long{i}.mp4", 40)
    killed: list[int] = []

    def kill_the_other_worker(record):
        if killed:
            return
        finished_by = int(record["worker"].rpartition(":")[2])
        busy = [p for p in worker_processes("IndexWorker") if p.pid != finished_by]
        assert busy, "two workers should be running"
        os.kill(busy[0].pid, signal.SIGKILL)
        killed.append(busy[0].pid)

    config = PipelineConfig(cache_dir=str(tmp_path / "cache"))
    report = index_videos(
        find_videos([videos]), config, workers=2, ray="local", on_record=kill_the_other_worker
    )
    assert killed
    assert sorted(r["video"] for r in report.records) == find_videos([videos])  # each once
    # the video in flight was built again, or found built if the kill came after its commit
    assert not report.failed and {r["status"] for r in report.records} <= {"indexed", "cached"}
    pipeline = Pipeline(config)
    assert all(pipeline.is_indexed(video) for video in find_videos([videos]))
    workers = {int(r["worker"].rpartition(":")[2]) for r in report.records}
    assert len(workers - set(killed)) == 2, "a restarted worker should have taken over"
    ledger = report.ledger.read_text().splitlines()
    assert len(ledger) == 5 and len({json.loads(line)["video"] for line in ledger}) == 5
