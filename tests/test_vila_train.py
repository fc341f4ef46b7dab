"""ViLA end to end: train on cached features, resume, select and answer through the pipeline."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import torch
from skimage import data
from tiny_models import save_tiny_instructblip_video

from framesift import Pipeline
from framesift.cli.main import main
from framesift.encode import build_encoder
from framesift.errors import InputError
from framesift.synth import fit, pan, write_video
from framesift.vila.config import ViLAConfig
from framesift.vila.train import TrainConfig, train_vila

PHOTOS = {
    "a cat": data.chelsea,
    "a cup of coffee": data.coffee,
    "a rocket": data.rocket,
    "an astronaut": data.astronaut,
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """8 videos of 16 frames (4 fps), each hiding one photo; 2 questions per video."""
    root = tmp_path_factory.mktemp("vila")
    (root / "videos").mkdir()
    labels = sorted(PHOTOS)
    rng = np.random.default_rng(0)
    lines = []
    for v in range(8):
        label = labels[v % 4]
        at = int(rng.integers(0, 14))
        footage = list(pan(data.brick(), 128, 96, 16))
        needle = fit(PHOTOS[label](), 128, 96)
        write_video(
            root / "videos" / f"v{v}.mp4",
            [needle if at <= i < at + 2 else f for i, f in enumerate(footage)],
            fps=4,
        )
        for q in range(2):
            options = [label, labels[(v + 1 + q) % 4]][:: 1 - 2 * q]  # answer A, then B
            lines.append(
                {
                    "qid": f"v{v}q{q}",
                    "video": f"v{v}",
                    "options": options,
                    "question": f"Which appears: {options[0]} or {options[1]}?",
                    "answer": label,
                }
            )
    (root / "train.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return root


def config(dataset, out, **overrides):
    defaults = dict(
        benchmark="generic",
        annotations=str(dataset / "train.jsonl"),
        videos=str(dataset / "videos"),
        out=str(out),
        val_annotations=str(dataset / "train.jsonl"),
        cache_dir=str(dataset / "cache"),
        teacher_epochs=3,
        student_epochs=3,
        batch_size=4,
        model=ViLAConfig(
            teacher_frames=8, segments=2, n_query=2, hidden=32, n_layer=1, prompter_hidden=32
        ),
    )
    return TrainConfig(**{**defaults, **overrides})


def weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_training_writes_a_model_and_resumes_exactly(dataset, tmp_path):
    full = train_vila(config(dataset, tmp_path / "full"))
    assert full["train_questions"] == 16 and not full["skipped"]
    assert [h["stage"] for h in full["history"]] == ["teacher"] * 3 + ["student"] * 3
    assert full["train_seconds"] > 0 and 0 <= full["student_val_accuracy"] <= 1
    resumed_dir = tmp_path / "resumed"
    for stop in (("teacher", 2), ("student", 1)):  # killed twice, mid-teacher and mid-student
        train_vila(config(dataset, resumed_dir), stop_after=stop)
    resumed = train_vila(config(dataset, resumed_dir))
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3, 1, 2, 3]  # none repeated
    a, b = weights(tmp_path / "full" / "model"), weights(resumed_dir / "model")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_folder_refuses_different_training_arguments(dataset, tmp_path):
    train_vila(config(dataset, tmp_path / "run"), stop_after=("teacher", 1))
    with pytest.raises(InputError, match="different configuration"):
        train_vila(config(dataset, tmp_path / "run", lr=0.5))


def train_cli(dataset, out, capsys, *extra: str) -> dict:
    """``framesift train vila`` on the dataset, T = 8, S = 2, validated on the training set;
    the harness's results, and what it printed under ``printed``."""
    code = main(
        ["train", "vila", "--benchmark", "generic", "--annotations", str(dataset / "train.jsonl"),
         "--videos", str(dataset / "videos"), "--val-annotations", str(dataset / "train.jsonl"),
         "--out", str(out), "--cache-dir", str(dataset / "cache"), "--teacher-frames", "8",
         "--student-frames", "2", *extra]
    )  # fmt: skip
    assert code == 0
    results = json.loads((out / "val" / "results.json").read_text())["results"]["generic"]
    return {**results, "printed": capsys.readouterr().out}


def test_cli_trains_and_validates_through_the_harness(dataset, tmp_path, capsys):
    out = tmp_path / "cli"
    results = train_cli(dataset, out, capsys, "--teacher-epochs", "2", "--student-epochs", "2")
    assert "[teacher   2/2]" in results["printed"] and "[student   2/2]" in results["printed"]
    assert results["n"] == 16 and results["errors"] == 0
    assert results["frames_seen_per_question"] == 2  # the student's S prompted frames


def student_pipeline(dataset, model, **overrides) -> Pipeline:
    """The ViLA student of checkpoint ``model``: prompter picks S = 2 of T = 8 frames."""
    settings = dict(
        encoder=build_encoder("bundled"),
        selector=f"vila:{model}",
        answerer=f"vila:{model}",
        frames=8,
        budget=2,
        cache_dir=str(dataset / "cache"),
    )
    return Pipeline(**{**settings, **overrides})


def test_vila_selects_and_answers_deterministically(dataset, tmp_path):
    train_vila(config(dataset, tmp_path / "run"))
    pipe = student_pipeline(dataset, tmp_path / "run" / "model")
    video = dataset / "videos" / "v0.mp4"
    first = pipe.ask(video, "Which appears: a cat or a rocket?", ["a cat", "a rocket"])
    again = pipe.ask(video, "Which appears: a cat or a rocket?", ["a cat", "a rocket"])
    assert len(first.keyframes) == 2 and first.frames_considered == 8
    assert first.keyframes == again.keyframes and first.option_scores == again.option_scores
    teacher = student_pipeline(
        dataset,
        tmp_path / "run" / "model",
        selector="uniform",
        answerer=f"vila-teacher:{tmp_path / 'run' / 'model'}",
        budget=8,
    )
    assert teacher.ask(video, "Which appears: a cat or a rocket?", ["a cat", "a rocket"]).answer


# --- InstructBLIP-Video host (tiny random T5 model, saved and loaded back) -------------------


@pytest.fixture(scope="module")
def instructblip(tmp_path_factory):
    return save_tiny_instructblip_video(tmp_path_factory.mktemp("instructblip"), "t5")


def host_config(dataset, instructblip, out, **overrides):
    model = ViLAConfig(
        teacher_frames=8, segments=2, host=f"instructblip:{instructblip}", lora_rank=2
    )
    return config(dataset, out, model=model, teacher_epochs=2, student_epochs=2, **overrides)


def test_instructblip_host_trains_resumes_and_keeps_the_teacher(dataset, instructblip, tmp_path):
    full = train_vila(host_config(dataset, instructblip, tmp_path / "full"))
    assert [h["stage"] for h in full["history"]] == ["teacher"] * 2 + ["student"] * 2
    assert all(math.isfinite(h["loss"]) for h in full["history"])
    final = weights(tmp_path / "full" / "model")
    trained = ("prompter.", "lift.", "teacher_bridge.", "student_bridge.")
    assert all(k.startswith(trained) or "lora_" in k for k in final)  # no frozen weights
    assert any(".lora_A.teacher." in k for k in final)
    assert any(".lora_B.student." in k for k in final)
    saved = json.loads((tmp_path / "full" / "model" / "config.json").read_text())
    assert saved["host"] == f"instructblip:{instructblip}" and saved["n_query"] == 4

    resumed_dir = tmp_path / "resumed"
    train_vila(host_config(dataset, instructblip, resumed_dir), stop_after=("teacher", 2))
    after_teacher = weights(resumed_dir / "checkpoint")
    train_vila(host_config(dataset, instructblip, resumed_dir), stop_after=("student", 1))
    resumed = train_vila(host_config(dataset, instructblip, resumed_dir))
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 1, 2]
    again = weights(resumed_dir / "model")
    assert again.keys() == final.keys() and all(torch.equal(final[k], again[k]) for k in final)
    teacher = [k for k in final if k.startswith("teacher_bridge.") or ".teacher." in k]
    assert teacher and all(torch.equal(final[k], after_teacher[k]) for k in teacher)
    # in the student stage the frozen teacher's Q-Former stays in eval mode (no dropout in
    # its distillation targets), as does the vision tower
    from framesift.vila.host_model import InstructBlipViLA

    model = InstructBlipViLA(host_config(dataset, instructblip, resumed_dir).model)
    model.trainable_parameters("student")
    model.train()
    assert not model.teacher_bridge.qformer.training and model.student_bridge.qformer.training
    assert not model.host.model.vision_model.training
    student = [k for k in final if k.startswith("student_bridge.")]
    assert any(not torch.equal(final[k], after_teacher[k]) for k in student)

    # the vision tower ran once per video: its outputs sit in the patch cache, one per video
    tower = [
        json.loads(p.read_text())
        for p in (dataset / "cache" / "patches").rglob("*.json")
        if "instructblip-vision" in p.read_text()
    ]
    assert len(tower) == 8 and all(t["shape"] == [8, 17, 32] for t in tower)


def test_instructblip_checkpoint_selects_and_answers_through_the_pipeline(
    dataset, instructblip, tmp_path, capsys
):
    out = tmp_path / "cli"
    host = ["--host", f"instructblip:{instructblip}", "--batch-size", "8"]
    epochs = ["--teacher-epochs", "1", "--student-epochs", "1"]
    results = train_cli(dataset, out, capsys, *host, *epochs)
    assert "[student   1/1]" in results["printed"]
    assert results["n"] == 16 and results["errors"] == 0
    assert results["frames_seen_per_question"] == 2
    pipe = student_pipeline(dataset, out / "model")
    video = dataset / "videos" / "v1.mp4"
    question, options = "Which appears: a cat or a rocket?", ["a cat", "a rocket"]
    first, again = pipe.ask(video, question, options), pipe.ask(video, question, options)
    assert len(first.keyframes) == 2 and first.answer in options
    assert first.keyframes == again.keyframes and first.option_scores == again.option_scores
    assert all(s < 0 for s in first.option_scores)  # letter log-probabilities
    # selecting reads only the prompter: a checkpoint whose host model is elsewhere still selects
    moved = tmp_path / "moved"
    shutil.copytree(out / "model", moved)
    saved = json.loads((moved / "config.json").read_text())
    (moved / "config.json").write_text(json.dumps({**saved, "host": "instructblip:/nowhere"}))
    alone = student_pipeline(dataset, moved, answerer="similarity")
    assert alone.ask(video, question, options).keyframes == first.keyframes
    with pytest.raises(InputError, match="model folder /nowhere does not exist"):
        Pipeline(encoder=build_encoder("bundled"), answerer=f"vila:{moved}").ask(
            video, question, options
        )
    with pytest.raises(InputError, match="merge drop"):
        student_pipeline(dataset, out / "model", merge="dfm").ask(video, question, options)


def test_cli_rejects_an_unknown_host_in_one_line(dataset, tmp_path, capsys):
    code = main(
        ["train", "vila", "--host", "blip2", "--benchmark", "generic", "--annotations",
         str(dataset / "train.jsonl"), "--videos", str(dataset / "videos"),
         "--out", str(tmp_path / "x")]
    )  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "unknown ViLA host 'blip2'" in err[0]
    assert not (tmp_path / "x").exists()
