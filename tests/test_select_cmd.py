"""``framesift select`` through the CLI: frames per question as JSONL and as BOLT's
``frame_indices_json``, resume after a kill, refusals that leave nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from skimage import data

from framesift.cli.main import main
from framesift.pipeline import Pipeline
from framesift.synth import fit, pan, write_video

PHOTOS = {"a cat": data.chelsea, "a cup of coffee": data.coffee, "a rocket": data.rocket}
FPS = 5  # of the generated videos: 100 frames, 20 s


def needle_seconds(i: int) -> tuple[float, float]:
    """When video ``i`` shows its photo (frames 40 + 10i to 54 + 10i)."""
    return (40 + 10 * i) / FPS, (55 + 10 * i) / FPS


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Three 20 s videos of panned real footage, each hiding one real photo; 7 questions, one
    about a video that does not exist."""
    root = tmp_path_factory.mktemp("select")
    videos = root / "videos"
    videos.mkdir()
    lines = []
    for i, (name, photo) in enumerate(PHOTOS.items()):
        needle = fit(photo(), 224, 224)
        start, end = (round(s * FPS) for s in needle_seconds(i))
        footage = pan(data.brick(), 224, 224, 100)
        frames = [needle if start <= k < end else f for k, f in enumerate(footage)]
        write_video(videos / f"v{i}.mp4", frames, fps=FPS)
        for j, question in enumerate([f"When is {name} shown?", f"Where does {name} appear?"]):
            lines.append({"qid": f"q{i}{j}", "video": f"v{i}", "question": question})
    lines.append({"qid": "lost", "video": "missing", "question": "What is shown?"})
    for line in lines:
        line.update(options=[], answer="-")  # open-ended: select reads only the question
    annotations = root / "questions.jsonl"
    annotations.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return annotations, videos, root / "cache"


def select_args(dataset, out: Path, *extra: str, annotations: Path | None = None) -> list[str]:
    default_annotations, videos, cache = dataset
    return [
        "select",
        "--benchmark",
        "generic",
        "--annotations",
        str(annotations or default_annotations),
        "--videos",
        str(videos),
        "--out",
        str(out),
        "--cache-dir",
        str(cache),
        "--budget",
        "4",
        *extra,
    ]


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def full_run(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "frames.jsonl"
    assert main(select_args(dataset, out)) == 0
    return out


def test_each_question_gets_its_frames_in_annotation_order(dataset, full_run):
    rows = jsonl(full_run)
    assert [r["qid"] for r in rows] == ["q00", "q01", "q10", "q11", "q20", "q21", "lost"]
    assert "missing" in rows[-1]["error"] and "frame_indices" not in rows[-1]
    for r in rows[:-1]:
        assert r["error"] is None and len(r["frame_indices"]) == 4
        assert r["frame_indices"] == sorted(r["frame_indices"])
        assert r["timestamps"] == sorted(r["timestamps"]) and len(r["scores"]) == 4
        assert r["sampling"] == {"fps": 1.0, "frames": None, "start": None, "end": None,
                                 "candidates": 20}  # fmt: skip
        assert r["selector"] == "dks" and r["budget"] == 4 and r["encoder"]
        # candidate k of a 1 fps pool over a 20 s video is the frame decoded at about k s
        assert all(
            abs(t - k) <= 0.5 for k, t in zip(r["frame_indices"], r["timestamps"], strict=True)
        )
    # the question names the hidden photo: a keyframe falls where it is shown
    for r in rows[:-1]:
        start, end = needle_seconds(int(r["video"][1]))
        assert any(start <= t < end for t in r["timestamps"]), r
    assert not full_run.with_name(full_run.name + ".run").exists()  # progress folder removed


def test_frames_are_those_the_pipeline_selects(dataset, full_run):
    _, videos, cache = dataset
    row = jsonl(full_run)[2]
    result = Pipeline(budget=4, cache_dir=str(cache)).ask(videos / "v1.mp4", row["question"])
    chosen = sorted(result.keyframes, key=lambda k: k.time)
    assert row["frame_indices"] == [k.index for k in chosen]
    assert row["timestamps"] == [k.time for k in chosen]


def test_bolt_file_is_what_its_lmms_eval_fork_reads(full_run):
    bolt = json.loads(full_run.with_name("frames.frame_indices.json").read_text())
    rows = {r["qid"]: r for r in jsonl(full_run)}
    assert sorted(bolt) == ["v0", "v1", "v2"]  # keyed by file name without extension
    for video, entries in bolt.items():
        assert [e["question_id"] for e in entries] == [f"q{video[1]}0", f"q{video[1]}1"]
        for entry in entries:
            assert set(entry) == {"question_id", "question", "frames"}
            row = rows[entry["question_id"]]
            assert entry["question"] == row["question"]
            assert entry["frames"] == [round(t, 2) for t in row["timestamps"]]  # seconds


def test_killed_run_resumes_to_the_same_frames(dataset, full_run, tmp_path, capsys):
    out = tmp_path / "resumed.jsonl"
    progress = tmp_path / "resumed.jsonl.run" / "samples.jsonl"
    cmd = [sys.executable, "-m", "framesift.cli.main", *select_args(dataset, out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if progress.exists() and progress.read_text().count("\n") >= 2:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    killed_at = progress.read_text().count("\n")
    assert 2 <= killed_at < 7 and not out.exists(), "the run should have been killed part-way"
    with open(progress, "a") as f:
        f.write('{"qid": "q21", "frame_')  # a half-written line, as a kill mid-write leaves
    assert main(select_args(dataset, out, "--budget", "3")) == 2  # other arguments: refused
    assert "different configuration" in capsys.readouterr().err
    assert main(select_args(dataset, out)) == 0
    assert out.read_text() == full_run.read_text()
    assert (
        out.with_name("resumed.frame_indices.json").read_text()
        == full_run.with_name("frames.frame_indices.json").read_text()
    )


def refused(capsys, argv: list[str], folder: Path) -> str:
    """Exit 2, one ``framesift: error:`` line, and nothing written under ``folder``."""
    before = sorted(folder.rglob("*"))
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("framesift: error: "), captured.err
    assert captured.out == "" and sorted(folder.rglob("*")) == before
    return lines[0]


def test_bad_input_is_one_line_and_leaves_nothing(dataset, tmp_path, capsys):
    out = tmp_path / "out" / "frames.jsonl"
    duplicate = tmp_path / "dup.jsonl"
    row = {"qid": "a", "video": "v0", "question": "q?", "answer": "x"}
    duplicate.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    assert "a" in refused(capsys, select_args(dataset, out, annotations=duplicate), tmp_path)
    missing = tmp_path / "none.jsonl"
    assert "none.jsonl" in refused(capsys, select_args(dataset, out, annotations=missing), tmp_path)
    args = select_args(dataset, out)
    args[args.index("--videos") + 1] = str(tmp_path / "novideos")
    assert "videos folder" in refused(capsys, args, tmp_path)
    folder = tmp_path / "afolder"
    folder.mkdir()
    assert "is a folder" in refused(capsys, select_args(dataset, folder), tmp_path)
    line = refused(capsys, select_args(dataset, out, "--answerer", "llava-ov"), tmp_path)
    assert "--answerer" in line
