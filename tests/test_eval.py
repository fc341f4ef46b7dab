"""The evaluation harness end to end: outputs, errors, resume after a kill, shards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from skimage import data

from framesift.cli.main import main
from framesift.synth import fit, pan, write_video

PHOTOS = {"a cat": data.chelsea, "a cup of coffee": data.coffee, "a rocket": data.rocket}
OPTIONS = ["a cat", "a cup of coffee", "a rocket", "a horse"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Three 20 s videos of real-photo footage, each hiding one real photo; 7 questions."""
    root = tmp_path_factory.mktemp("bench")
    videos = root / "videos"
    videos.mkdir()
    lines = []
    for i, (answer, photo) in enumerate(PHOTOS.items()):
        needle = fit(photo(), 224, 224)
        footage = list(pan(data.brick(), 224, 224, 100))
        frames = [needle if 40 + 10 * i <= k < 55 + 10 * i else f for k, f in enumerate(footage)]
        write_video(videos / f"v{i}.mp4", frames, fps=5)
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
    lines.append(
        {
            "qid": "lost",
            "video": "missing",
            "question": "What is shown?",
            "options": OPTIONS,
            "answer": "A",
        }
    )
    annotations = root / "questions.jsonl"
    annotations.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return annotations, videos, root / "cache"


def eval_args(dataset, out, *extra, benchmark="generic", annotations=None):
    default_annotations, videos, cache = dataset
    return [
        "eval",
        "--benchmark",
        benchmark,
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


def records(out):
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def comparable(rows):
    return sorted((r["qid"], r["prediction"], r["correct"], r["error"] is None) for r in rows)


@pytest.fixture(scope="module")
def full_run(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    assert main(eval_args(dataset, out)) == 0
    return out


def test_eval_writes_samples_and_results(full_run):
    rows = records(full_run)
    assert len(rows) == 7 and len({r["qid"] for r in rows}) == 7
    lost = next(r for r in rows if r["qid"] == "lost")
    assert lost["error"] and "missing" in lost["error"] and lost["correct"] is False
    answered = [r for r in rows if r["error"] is None]
    assert all(
        r["keyframes"] and {"time", "index", "score"} <= set(r["keyframes"][0]) for r in answered
    )
    assert all(
        set(r["timings"]) >= {"decode", "encode", "select", "answer", "total"} for r in answered
    )
    results = json.loads((full_run / "results.json").read_text())
    generic = results["results"]["generic"]
    assert generic["n"] == 7 and generic["errors"] == 1
    assert generic["accuracy_answered"] == pytest.approx(np.mean([r["correct"] for r in answered]))
    assert generic["accuracy_answered"] >= 4 / 6  # the bundled encoder sees these objects
    assert set(generic["by_question_type"]) == {"type0", "type1"}
    assert generic["frames_seen_per_question"] == 4
    assert generic["latency_seconds"]["total"]["median"] > 0
    assert results["config"]["pipeline"]["selector"] == "dks" and results["framesift_version"]
    # the layout of lmms-eval's results file, so its readers find the numbers
    assert generic["accuracy,none"] == generic["accuracy"]
    assert results["higher_is_better"] == {"generic": {"accuracy": True}}
    assert results["n-samples"] == {"generic": {"original": 7, "effective": 7}}
    assert results["config"]["annotations_digest"].startswith("sha256:")


def test_limit_counts_every_question_as_original(dataset, full_run, tmp_path):
    out = tmp_path / "limited"
    assert main(eval_args(dataset, out, "--limit", "2")) == 0
    assert len(records(out)) == 2
    results = json.loads((out / "results.json").read_text())
    assert results["n-samples"] == {"generic": {"original": 7, "effective": 2}}
    assert results["results"]["generic"]["n"] == 2


def test_killed_run_resumes_without_losing_or_repeating(dataset, full_run, tmp_path):
    out = tmp_path / "resumed"
    cmd = [sys.executable, "-m", "framesift.cli.main", *eval_args(dataset, out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = out / "samples.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if samples.exists() and samples.read_text().count("\n") >= 2:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    killed_at = samples.read_text().count("\n")
    assert 2 <= killed_at < 7, "the run should have been killed part-way"
    with open(samples, "a") as f:
        f.write('{"qid": "q21", "predic')  # a half-written line, as a kill mid-write leaves
    assert main(eval_args(dataset, out)) == 0
    resumed = records(out)
    assert len(resumed) == 7 and len({r["qid"] for r in resumed}) == 7
    assert comparable(resumed) == comparable(records(full_run))


def test_shards_merge_to_the_full_run(dataset, full_run, tmp_path):
    shards = [tmp_path / f"shard{i}" for i in range(2)]
    for i, out in enumerate(shards):
        assert main(eval_args(dataset, out, "--shard", f"{i}/2")) == 0
    sizes = [len(records(out)) for out in shards]
    assert sum(sizes) == 7 and min(sizes) > 0
    merged = tmp_path / "merged"
    assert main(["eval-merge", *map(str, shards), "--out", str(merged)]) == 0
    assert comparable(records(merged)) == comparable(records(full_run))
    full = json.loads((full_run / "results.json").read_text())["results"]["generic"]
    combined = json.loads((merged / "results.json").read_text())
    assert combined["results"]["generic"]["accuracy"] == full["accuracy"]
    assert combined["results"]["generic"]["n"] == 7
    assert combined["n-samples"] == {"generic": {"original": 7, "effective": 7}}
    shard0 = json.loads((shards[0] / "results.json").read_text())["n-samples"]["generic"]
    assert shard0 == {"original": 7, "effective": sizes[0]}


def test_a_folder_refuses_a_different_configuration(dataset, full_run, capsys):
    assert main(eval_args(dataset, full_run, "--selector", "topk")) == 2
    assert "different configuration" in capsys.readouterr().err


def test_merge_refuses_incomplete_shards(dataset, tmp_path, capsys):
    out = tmp_path / "shard0"
    assert main(eval_args(dataset, out, "--shard", "0/2")) == 0
    assert main(["eval-merge", str(out), "--out", str(tmp_path / "m")]) == 2
    assert "cover" in capsys.readouterr().err


def test_malformed_annotation_line_is_a_clear_error(dataset, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"qid": "x", "video": "v0", "question": "Q?", "options": ["a", "b"], '
        '"answer": "a"}\n{"qid": "y", "video": \n'
    )
    _, videos, cache = dataset
    code = main(
        [
            "eval",
            "--benchmark",
            "generic",
            "--annotations",
            str(bad),
            "--videos",
            str(videos),
            "--out",
            str(tmp_path / "o"),
            "--cache-dir",
            str(cache),
        ]
    )
    assert code == 2
    assert "line 2" in capsys.readouterr().err


def test_compare_tables_and_plots_runs(dataset, full_run, tmp_path, capsys):
    other = tmp_path / "uniform-k2"
    assert main(eval_args(dataset, other, "--selector", "uniform", "--budget", "2")) == 0
    capsys.readouterr()
    plot = tmp_path / "compare.png"
    assert main(["compare", str(full_run), str(other), "--plot", str(plot)]) == 0
    table = capsys.readouterr().out
    assert f"| {full_run.name} | generic | dks | 4 |" in table
    assert "| uniform-k2 | generic | uniform | 2 |" in table
    assert plot.stat().st_size > 5_000


def test_videomme_reports_lmms_evals_perception_score(dataset, full_run, tmp_path):
    """Video-MME rows (the released parquet's fields) over the real test videos."""
    rows = [
        {
            "video_id": f"00{i}",
            "duration": "short",
            "domain": "Knowledge",
            "sub_category": "Humanity & History",
            "url": "",
            "videoID": f"v{i}",
            "question_id": f"00{i}-1",
            "task_type": "Object Recognition",
            "question": "What is shown?",
            "options": [f"{letter}. {o}" for letter, o in zip("ABCD", OPTIONS, strict=True)],
            "answer": "ABC"[i],
        }
        for i in range(3)
    ]
    annotations = tmp_path / "videomme.json"
    annotations.write_text(json.dumps(rows))
    out = tmp_path / "videomme"
    args = eval_args(dataset, out, benchmark="videomme", annotations=annotations)
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    r = results["results"]["videomme"]
    assert r["videomme_perception_score,none"] == pytest.approx(100 * r["accuracy"])
    assert results["higher_is_better"]["videomme"]["videomme_perception_score"] is True
    assert set(r["by_group"]["duration"]) == {"short"}


def test_mlvu_scores_flawed_entries_as_choice_bench_does(dataset, full_run, tmp_path, capsys):
    """Entries shaped like MLVU's released flaws: duplicate candidates, an answer that is no
    candidate. The gold option is the last exact match; no match is always wrong."""
    json_dir = tmp_path / "json"
    json_dir.mkdir()
    plot = {"video": "v0.mp4", "duration": 20, "question": "What is shown?"}
    (json_dir / "1_plotQA.json").write_text(
        json.dumps(
            [
                {**plot, "candidates": OPTIONS, "answer": "a cat", "question_type": "plotQA"},
                {
                    **plot,
                    "candidates": ["a horse", "a cat", "a rocket", "a horse"],
                    "answer": "a horse",  # both copies are wrong here; gold is the last one
                    "question_type": "plotQA",
                },
            ]
        )
    )
    needle = {
        "video": "v2.mp4",
        "duration": 20,
        "question": "Which object appears?",
        "candidates": OPTIONS,
        "answer": "a rocket ship",  # no candidate: MLVU's scorer can never match it
        "question_type": "findNeedle",
    }
    (json_dir / "2_needle.json").write_text(json.dumps([needle]))
    out = tmp_path / "mlvu"
    assert main(eval_args(dataset, out, benchmark="mlvu", annotations=json_dir)) == 0
    assert "annotation issues" in capsys.readouterr().out
    rows = {r["qid"]: r for r in records(out)}
    assert rows["1_plotQA_1"]["target"] == "D" and rows["1_plotQA_1"]["annotation_issues"] == [
        "duplicate_options"
    ]
    assert rows["2_needle_0"]["target"] is None and rows["2_needle_0"]["correct"] is False
    r = json.loads((out / "results.json").read_text())["results"]["mlvu"]
    assert set(r["by_question_type"]) == {"plotQA", "needle"}  # lmms-eval's task names
    task_mean = np.mean([t["accuracy"] for t in r["by_question_type"].values()])
    assert r["mlvu_percetion_score,none"] == pytest.approx(100 * task_mean)
    assert r["annotation_issues"] == {"answer_not_in_options": 1, "duplicate_options": 1}
    assert r["counted_wrong"] == 1
