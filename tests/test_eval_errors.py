"""``framesift eval`` and ``eval-merge`` refuse bad input in one line, exit 2 and leave nothing.

Every case goes through the CLI and checks the exit code, that stderr is the single line
``framesift: error: ...`` (no traceback), and that no run folder or file was left behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from framesift.cli.main import main

QUESTION = {
    "qid": "q1",
    "video": "missing_clip",  # no such file: the run records an error without decoding
    "question": "What is shown?",
    "options": ["a cat", "a dog"],
    "answer": "A",
}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def setup(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    annotations = write_jsonl(tmp_path / "questions.jsonl", [QUESTION])
    return annotations, videos, tmp_path / "run"


def eval_args(annotations: Path, videos: Path, out: Path, *extra: str) -> list[str]:
    return [
        "eval",
        "--benchmark",
        "generic",
        "--annotations",
        str(annotations),
        "--videos",
        str(videos),
        "--out",
        str(out),
        "--no-cache",
        *extra,
    ]


def refused(capsys, argv: list[str]) -> str:
    """Run the CLI, expect exit 2 and one error line on stderr; return that line."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("framesift: error: "), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    return lines[0]


def folder_state(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_duplicate_qids_are_refused_naming_the_qid(setup, capsys):
    annotations, videos, out = setup
    write_jsonl(annotations, [QUESTION, {**QUESTION, "question": "Which animal?"}])
    line = refused(capsys, eval_args(annotations, videos, out))
    assert "'q1'" in line and "line 2" in line
    assert not out.exists()


def test_malformed_line_stops_before_the_folder_exists(setup, capsys):
    annotations, videos, out = setup
    annotations.write_text(json.dumps(QUESTION) + '\n{"qid": "q2", "video": \n')
    assert "line 2" in refused(capsys, eval_args(annotations, videos, out))
    assert not out.exists()


def test_missing_annotations_file(setup, capsys):
    _, videos, out = setup
    line = refused(capsys, eval_args(out.parent / "nope.jsonl", videos, out))
    assert "not found" in line and "nope.jsonl" in line
    assert not out.exists()


def test_missing_videos_folder(setup, capsys):
    annotations, _, out = setup
    line = refused(capsys, eval_args(annotations, Path("/nonexistent"), out))
    assert "/nonexistent" in line
    assert not out.exists()


@pytest.mark.parametrize("content", [b"", b"\n\n", b"[]"])
def test_annotations_without_questions(setup, capsys, content):
    annotations, videos, out = setup
    annotations.write_bytes(content)
    assert "no generic questions" in refused(capsys, eval_args(annotations, videos, out))
    assert not out.exists()


def test_non_utf8_annotations(setup, capsys):
    annotations, videos, out = setup
    annotations.write_bytes(json.dumps(QUESTION).replace("What", "Wh\xe4t").encode("latin-1"))
    assert "not UTF-8" in refused(capsys, eval_args(annotations, videos, out))
    assert not out.exists()


def test_out_naming_a_file(setup, capsys):
    annotations, videos, out = setup
    out.write_text("my notes")
    assert "is a file" in refused(capsys, eval_args(annotations, videos, out))
    assert out.read_text() == "my notes"


def test_merge_of_a_missing_folder(tmp_path, capsys):
    merged = tmp_path / "merged"
    line = refused(capsys, ["eval-merge", str(tmp_path / "shard0"), "--out", str(merged)])
    assert "shard0" in line and "not an eval run folder" in line
    assert not merged.exists()


@pytest.mark.parametrize(
    ("shard", "why"), [("2/2", "0 <= I < N"), ("a/b", "expects I/N"), ("1/2", "holds no questions")]
)
def test_impossible_shards(setup, capsys, shard, why):
    annotations, videos, out = setup  # one question, one video: shard 1/2 is empty
    assert why in refused(capsys, eval_args(annotations, videos, out, "--shard", shard))
    assert not out.exists()


def test_compare_of_a_folder_without_results(tmp_path, capsys):
    plot = tmp_path / "compare.png"
    line = refused(capsys, ["compare", str(tmp_path / "nope"), "--plot", str(plot)])
    assert "not an eval run folder" in line
    assert not plot.exists()


@pytest.fixture
def started(setup, capsys):
    """A run folder holding one answered question (an error: its video does not exist)."""
    annotations, videos, out = setup
    assert main(eval_args(annotations, videos, out)) == 0
    stdout = capsys.readouterr().out
    return annotations, videos, out, stdout


def test_a_run_prints_only_its_summary(started):
    *_, out, stdout = started
    lines = stdout.strip().splitlines()
    assert lines[0] == "generic: accuracy 0.0% over 1 of 1 questions, 1 errors"
    assert lines[-1] == f"results: {out / 'results.json'}"
    assert not any(line.lstrip().startswith("{") for line in lines)  # no stray JSON


def test_resume_after_the_annotations_changed_is_refused(started, capsys):
    annotations, videos, out, _ = started
    before = folder_state(out)
    write_jsonl(annotations, [{**QUESTION, "answer": "B"}])  # a corrected gold answer
    line = refused(capsys, eval_args(annotations, videos, out))
    assert "annotations" in line and "changed" in line and "another --out" in line
    assert folder_state(out) == before


def test_resume_with_the_same_questions_reformatted_continues(started, capsys):
    annotations, videos, out, _ = started
    annotations.write_text(json.dumps([QUESTION], indent=2), encoding="utf-8")  # array form
    assert main(eval_args(annotations, videos, out)) == 0
    assert len((out / "samples.jsonl").read_text().splitlines()) == 1


def test_a_folder_from_an_older_framesift_is_refused(started, capsys):
    annotations, videos, out, _ = started
    config = json.loads((out / "config.json").read_text())
    del config["annotations_digest"]
    (out / "config.json").write_text(json.dumps(config))
    before = folder_state(out)
    assert "older framesift" in refused(capsys, eval_args(annotations, videos, out))
    assert folder_state(out) == before
