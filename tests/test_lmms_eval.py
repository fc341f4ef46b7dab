"""framesift as an lmms-eval model, run by lmms-eval's own CLI (``python -m lmms_eval eval
--model framesift``) on the local video task in tests/lmms_task, checked through the results
and per-sample files lmms-eval writes, against framesift's own Pipeline on the same videos."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from media import footage_with_photo
from tiny_models import save_tiny_llava_onevision

from framesift import Pipeline, PipelineConfig

TASK_DIR = Path(__file__).resolve().parent / "lmms_task"
QUESTIONS = [json.loads(line) for line in (TASK_DIR / "questions.jsonl").read_text().splitlines()]
LETTERS = "ABC"
MC_INSTRUCTION = "Answer with the option's letter from the given choices directly."  # the yaml's


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """vtest.avi pedestrians with a fruit photo shown for 10 s, one video per fruit."""
    folder = tmp_path_factory.mktemp("lmms_videos")
    footage_with_photo(folder / "orange.mp4", "orange.jpg", 20, 10, size=(192, 144))
    footage_with_photo(folder / "apple.mp4", "apple.jpg", 40, 10, size=(192, 144))
    return folder


def run_lmms_eval(
    out: Path, videos: Path, tasks: list[str], model_args: str, *options: str
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """lmms-eval's CLI in a subprocess; (results.json, per-task logged samples)."""
    env = {
        **os.environ,
        "FRAMESIFT_LMMS_VIDEOS": str(videos),
        "HF_HOME": str(out / "hf"),
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
    }
    command = [
        sys.executable, "-m", "lmms_eval", "eval",
        "--model", "framesift",
        "--model_args", model_args,
        "--tasks", ",".join(tasks),
        "--include_path", str(TASK_DIR),
        "--output_path", str(out / "results"),
        "--log_samples",
        "--device", "cpu",
        *options,
    ]  # fmt: skip
    run = subprocess.run(command, cwd=TASK_DIR, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    (results_file,) = (out / "results").glob("*_results.json")
    samples = {}
    for task in tasks:
        (samples_file,) = (out / "results").glob(f"*_samples_{task}.jsonl")
        samples[task] = [json.loads(line) for line in samples_file.read_text().splitlines()]
    return json.loads(results_file.read_text()), samples


def expected_reply(pipe: Pipeline, videos: Path, doc: dict[str, Any], multiple_choice: bool) -> str:
    """What the plugin must answer: framesift's own ask on the same video and question, and
    the chosen option's letter (or the reply when the model commits to none)."""
    if not multiple_choice:
        return pipe.ask(videos / doc["video"], doc["question"]).answer.split("\n\n")[0].strip()
    result = pipe.ask(videos / doc["video"], f"{doc['question']}\n{MC_INSTRUCTION}", doc["options"])
    assert result.cached  # lmms-eval's run filled framesift's feature cache
    if result.answer_index < 0:
        return result.answer.strip()
    return LETTERS[result.answer_index]


def test_similarity_answerer_scores_the_task(tmp_path: Path, videos: Path) -> None:
    cache = tmp_path / "cache"
    model_args = f"answerer=similarity,selector=dks,budget=4,frames=16,cache_dir={cache}"
    results, samples = run_lmms_eval(tmp_path, videos, ["framesift_tiny"], model_args)

    assert results["config"]["model"] == "framesift"
    assert results["config"]["model_backend"].startswith("framesift.integrations.lmms_eval.")
    assert results["n-samples"]["framesift_tiny"] == {"original": 4, "effective": 4}
    assert results["higher_is_better"]["framesift_tiny"] == {"accuracy": True}
    logged = sorted(samples["framesift_tiny"], key=lambda s: s["doc_id"])
    assert [s["doc_id"] for s in logged] == [0, 1, 2, 3]

    pipe = Pipeline(PipelineConfig(budget=4, frames=16, cache_dir=str(cache)))
    replies = [expected_reply(pipe, videos, doc, True) for doc in QUESTIONS]
    assert [s["filtered_resps"] for s in logged] == replies
    correct = [float(r == doc["answer"]) for r, doc in zip(replies, QUESTIONS, strict=True)]
    assert [s["accuracy"] for s in logged] == correct
    accuracy = results["results"]["framesift_tiny"]["accuracy,none"]
    assert accuracy == pytest.approx(sum(correct) / len(correct))
    assert accuracy >= 0.75  # the fruit photos and the street are plain to the real encoder


def test_llava_onevision_answers_choices_and_open_questions(tmp_path: Path, videos: Path) -> None:
    """A tiny random LLaVA-OneVision saved to a folder: multiple choice and open-ended prompts,
    under --limit."""
    model = save_tiny_llava_onevision(tmp_path / "tiny-llava-ov")
    cache = tmp_path / "cache"
    model_args = (
        f"answerer=llava-ov:{model},budget=4,frames=8,dtype=float32,cache_dir={cache},"
        "answerer.max_new_tokens=6"
    )
    tasks = ["framesift_tiny", "framesift_tiny_open"]
    results, samples = run_lmms_eval(tmp_path, videos, tasks, model_args, "--limit", "2")

    assert results["n-samples"] == {task: {"original": 4, "effective": 2} for task in tasks}
    pipe = Pipeline(
        PipelineConfig(
            answerer=f"llava-ov:{model}",
            budget=4,
            frames=8,
            dtype="float32",
            cache_dir=str(cache),
            params={"answerer": {"max_new_tokens": 6}},
        )
    )
    for task, metric in (("framesift_tiny", "accuracy"), ("framesift_tiny_open", "exact_match")):
        logged = sorted(samples[task], key=lambda s: s["doc_id"])
        assert [s["doc_id"] for s in logged] == [0, 1]
        docs = QUESTIONS[:2]
        replies = [expected_reply(pipe, videos, doc, task == "framesift_tiny") for doc in docs]
        assert [s["filtered_resps"] for s in logged] == replies
        mean = sum(s[metric] for s in logged) / 2
        assert results["results"][task][f"{metric},none"] == pytest.approx(mean)


def test_multiple_choice_task_scores_options_by_loglikelihood(tmp_path: Path, videos: Path) -> None:
    """An ``output_type: multiple_choice`` task: lmms-eval asks ``loglikelihood`` of each option
    and picks the smallest returned value; each is framesift's own negative log-likelihood of
    that option as the reply, and the likeliest option is lmms-eval's prediction."""
    model = save_tiny_llava_onevision(tmp_path / "tiny-llava-ov")
    cache = tmp_path / "cache"
    model_args = f"answerer=llava-ov:{model},budget=4,frames=8,dtype=float32,cache_dir={cache}"
    results, samples = run_lmms_eval(
        tmp_path, videos, ["framesift_tiny_mc"], model_args, "--limit", "2"
    )

    assert results["n-samples"]["framesift_tiny_mc"] == {"original": 4, "effective": 2}
    pipe = Pipeline(
        PipelineConfig(
            answerer=f"llava-ov:{model}", budget=4, frames=8, dtype="float32", cache_dir=str(cache)
        )
    )
    logged = sorted(samples["framesift_tiny_mc"], key=lambda s: s["doc_id"])
    assert [s["doc_id"] for s in logged] == [0, 1]
    accuracies = []
    for sample, doc in zip(logged, QUESTIONS[:2], strict=True):
        scored = [
            pipe.loglikelihood(videos / doc["video"], doc["question"], o) for o in doc["options"]
        ]
        logged_pairs = [(float(value), greedy) for value, greedy in sample["filtered_resps"]]
        expected = [(pytest.approx(-logprob, abs=1e-4), str(greedy)) for logprob, greedy in scored]
        assert logged_pairs == expected  # the samples file writes the pairs' items as strings
        likeliest = max(range(len(scored)), key=lambda i: scored[i][0])
        accuracies.append(float(LETTERS[likeliest] == doc["answer"]))
        assert sample["acc"] == accuracies[-1]
    assert results["results"]["framesift_tiny_mc"]["acc,none"] == pytest.approx(sum(accuracies) / 2)
