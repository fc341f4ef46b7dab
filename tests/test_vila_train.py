"""ViLA end to end: train on cached features, resume, select and answer through the pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from skimage import data

from framesift import Pipeline
from framesift.cli.main import main
from framesift.encode import build_encoder
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
            options = [label, labels[(v + 1 + q) % 4]]
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
    return TrainConfig(
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
        **overrides,
    )


def weights(folder):
    from safetensors.torch import load_file

    return load_file(str(next(folder.glob("*.safetensors"))))


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
    from framesift.errors import InputError

    train_vila(config(dataset, tmp_path / "run"), stop_after=("teacher", 1))
    with pytest.raises(InputError, match="different configuration"):
        train_vila(config(dataset, tmp_path / "run", lr=0.5))


def test_cli_trains_and_validates_through_the_harness(dataset, tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(
        [
            "train",
            "vila",
            "--benchmark",
            "generic",
            "--annotations",
            str(dataset / "train.jsonl"),
            "--videos",
            str(dataset / "videos"),
            "--val-annotations",
            str(dataset / "train.jsonl"),
            "--out",
            str(out),
            "--cache-dir",
            str(dataset / "cache"),
            "--teacher-frames",
            "8",
            "--student-frames",
            "2",
            "--teacher-epochs",
            "2",
            "--student-epochs",
            "2",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "[teacher   2/2]" in printed and "[student   2/2]" in printed
    results = json.loads((out / "val" / "results.json").read_text())["results"]["generic"]
    assert results["n"] == 16 and results["errors"] == 0
    assert results["frames_seen_per_question"] == 2  # the student's S prompted frames


def test_vila_selects_and_answers_deterministically(dataset, tmp_path):
    train_vila(config(dataset, tmp_path / "run"))
    model = str(tmp_path / "run" / "model")
    pipe = Pipeline(
        encoder=build_encoder("bundled"),
        selector=f"vila:{model}",
        answerer=f"vila:{model}",
        frames=8,
        budget=2,
        cache_dir=str(dataset / "cache"),
    )
    video = dataset / "videos" / "v0.mp4"
    first = pipe.ask(video, "Which appears: a cat or a rocket?", ["a cat", "a rocket"])
    again = pipe.ask(video, "Which appears: a cat or a rocket?", ["a cat", "a rocket"])
    assert len(first.keyframes) == 2 and first.frames_considered == 8
    assert first.keyframes == again.keyframes and first.option_scores == again.option_scores
    teacher = Pipeline(
        encoder=build_encoder("bundled"),
        selector="uniform",
        answerer=f"vila-teacher:{model}",
        frames=8,
        budget=8,
        cache_dir=str(dataset / "cache"),
    )
    assert teacher.ask(video, "Which appears: a cat or a rocket?", ["a cat", "a rocket"]).answer
