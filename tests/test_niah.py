"""Visual needle-in-a-haystack on real footage with real photos."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from media import MEDIA_DIR, VTEST, footage_with_photo

from framesift import Pipeline
from framesift.cli.main import main
from framesift.decode import Sampling
from framesift.encode import build_encoder
from framesift.eval.niah import load_needles, needle_frame
from framesift.features import extract_features

ANIMALS = ["a dog", "a cat", "a horse", "a bird"]
FRUIT = ["an apple", "an orange", "a banana", "a pineapple"]


@pytest.fixture(scope="module")
def needles(tmp_path_factory):
    folder = tmp_path_factory.mktemp("needles")
    shutil.copy(MEDIA_DIR / "chicky_512.png", folder)
    shutil.copy(MEDIA_DIR / "orange.jpg", folder)
    (folder / "needles.json").write_text(
        json.dumps(
            [
                {
                    "image": "chicky_512.png",
                    "question": "Which animal appears?",
                    "options": ANIMALS,
                    "answer": "a dog",
                },
                {
                    "image": "orange.jpg",
                    "question": "Which fruit is shown?",
                    "options": FRUIT,
                    "answer": "B",
                },
            ]
        )
    )
    return folder


def test_niah_reports_retrieval_and_accuracy_per_selector(needles, tmp_path, capsys):
    out = tmp_path / "niah"
    code = main(
        [
            "niah",
            "--haystack",
            str(VTEST),
            "--needles",
            str(needles),
            "--out",
            str(out),
            "--lengths",
            "80",
            "240",
            "--depths",
            "0",
            "0.5",
            "1",
            "--budget",
            "4",
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
    )
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results["selectors"]) == {"uniform", "topk", "bolt", "aks", "dks"}
    dks = results["selectors"]["dks"]
    assert dks["n"] == 2 * 2 * 3 and set(dks["grid"]) == {
        f"{n}@{d}" for n in (80, 240) for d in ("0", "0.5", "1")
    }
    assert dks["retrieval"] == 1.0 and dks["accuracy"] == 1.0  # query-aware finds both photos
    assert results["selectors"]["uniform"]["retrieval"] < 1.0  # 4 frames cannot cover 240
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 5 * 12 and {"retrieved", "correct", "keyframes"} <= set(rows[0])
    assert (out / "heatmap.png").stat().st_size > 10_000
    assert "| dks |" in capsys.readouterr().out


def test_spliced_features_match_a_rendered_video(needles, tmp_path):
    """The feature-space haystack equals encoding a real video with the needle in it."""
    encoder = build_encoder("bundled")
    rendered = footage_with_photo(tmp_path / "needle.mp4", "chicky_512.png", 20.0, 1.0)
    features = extract_features(rendered, Sampling(fps=1, end=30), encoder).features  # (30, D)
    (dog, _) = load_needles(needles)
    spliced = encoder.encode_frames(
        needle_frame(dog.image, str(rendered), encoder.info.resize)[None]
    ).embeddings[0]
    cosine = features.embeddings @ spliced  # (30,)
    assert int(np.argmax(cosine)) == 20 and cosine[20] > 0.95
    query = encoder.encode_text([dog.question])[0]
    pipe = Pipeline(encoder=encoder, use_cache=False)
    keyframes = pipe.ask(rendered, dog.question, end=30).keyframes
    assert max(keyframes, key=lambda k: k.score).time == pytest.approx(20.0)
    assert float(spliced @ query) == pytest.approx(float(features.embeddings[20] @ query), abs=0.05)


def test_needle_folder_errors(tmp_path, capsys):
    (tmp_path / "needles.json").write_text(json.dumps([{"image": "nope.png"}]))
    code = main(
        [
            "niah",
            "--haystack",
            str(VTEST),
            "--needles",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
            "--cache-dir",
            str(tmp_path / "c"),
        ]
    )
    assert code == 2 and "entry 0" in capsys.readouterr().err
