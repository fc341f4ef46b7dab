"""Visual needle-in-a-haystack on real footage with real photos."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import index_frame, make_video, read_indices
from media import MEDIA_DIR, VTEST, footage_with_photo
from tiny_models import save_tiny_llava_onevision

from framesift import Pipeline
from framesift.cache import extract
from framesift.cli.main import main
from framesift.decode import Resize, Sampling
from framesift.encode import build_encoder
from framesift.eval.niah import Haystack, load_needles, needle_clips, needle_frame
from framesift.source import VideoFile
from framesift.vila.config import TrainConfig, ViLAConfig
from framesift.vila.train import train_vila

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
    features = extract(rendered, Sampling(fps=1, end=30), encoder, None).features  # (30, D)
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


@pytest.fixture(scope="module")
def llava(tmp_path_factory):
    return save_tiny_llava_onevision(tmp_path_factory.mktemp("llava_ov"))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """One cache for the tests below: vtest.avi's features are encoded once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def vila_checkpoint(tmp_path_factory, cache_dir):
    """A small ViLA (T = 8, S = 2) trained for an epoch per stage on needle clips of vtest.avi
    showing two photos that are not the test needles."""
    root = tmp_path_factory.mktemp("vila")
    photos = {MEDIA_DIR / "building.jpg": "an office building", MEDIA_DIR / "home.jpg": "a roof"}
    clips = needle_clips(str(VTEST), photos, root / "clips", clips=4, frames=8, fps=2)
    lines = (clips / "train.jsonl").read_text().splitlines()
    assert len(lines) == 4 and len(list((clips / "videos").glob("*.mp4"))) == 4
    model = ViLAConfig(
        teacher_frames=8, segments=2, n_query=2, hidden=32, n_layer=1, prompter_hidden=32
    )
    summary = train_vila(
        TrainConfig(
            benchmark="generic",
            annotations=str(clips / "train.jsonl"),
            videos=str(clips / "videos"),
            out=str(root / "run"),
            cache_dir=str(cache_dir),
            teacher_epochs=1,
            student_epochs=1,
            batch_size=4,
            device="cpu",
            model=model,
        )
    )
    assert summary["train_questions"] == 4 and not summary["skipped"]
    return root / "run" / "model"


def test_niah_runs_every_selector_through_the_pipeline(
    needles, vila_checkpoint, llava, cache_dir, tmp_path, capsys
):
    """A trained ViLA prompter and a VLM localizer that reads the haystack's pixels run in the
    same V-NIAH as the feature-based selectors."""
    out = tmp_path / "niah"
    vila, localizer = f"vila:{vila_checkpoint}", f"vlm-localizer:{llava}"
    selectors = ["uniform", "topk", "bolt", "aks", "dks", vila, localizer]
    code = main(
        ["niah", "--haystack", str(VTEST), "--needles", str(needles), "--out", str(out),
         "--lengths", "40", "--depths", "0", "1", "--budget", "4", "--selectors", *selectors,
         "--device", "cpu", "--cache-dir", str(cache_dir)]
    )  # fmt: skip
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert list(results["selectors"]) == selectors
    assert all(r["n"] == 2 * 2 for r in results["selectors"].values())
    assert results["selectors"]["dks"]["retrieval"] == 1.0
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    picked = {
        name: {len(r["keyframes"]) for r in rows if r["selector"] == name} for name in selectors
    }
    assert picked[vila] == {2} and picked[localizer] == {4}  # S = 2 prompted frames; the budget
    assert all(0 <= k < 41 for r in rows for k in r["keyframes"])  # a 40-frame haystack + needle
    printed = capsys.readouterr().out
    assert all(f"| {name} |" in printed for name in selectors)


def test_haystack_frames_are_its_candidates(tmp_path):
    """A selector that looks at pixels sees candidate i of the haystack: footage frames in the
    looped order (re-decoded, in the order asked, in batches), the needle where it was put."""
    footage = make_video(tmp_path / "stripes.mp4", [index_frame(k) for k in range(30)], fps=1)
    hay = Haystack(str(footage), MEDIA_DIR / "orange.jpg", length=70, at=33, span=2, fps=1.0)
    asked = np.random.default_rng(0).permutation(72)  # every candidate, shuffled
    resize = Resize(128, 48)
    batches = list(hay.frames(np.arange(72) / 1.0).read(asked, resize, batch_size=5))
    assert [len(b.times) for b in batches] == [5] * 14 + [2]
    pixels = np.concatenate([b.pixels for b in batches])  # (72, 48, 128, 3)
    np.testing.assert_array_equal(np.concatenate([b.times for b in batches]), asked / 1.0)
    is_needle = (asked >= 33) & (asked < 35)
    footage_frame = np.where(asked < 33, asked, asked - 2) % 30
    assert read_indices(pixels[~is_needle]) == footage_frame[~is_needle].tolist()
    needle = needle_frame(MEDIA_DIR / "orange.jpg", str(footage), resize)
    assert all((p == needle).all() for p in pixels[is_needle])


def test_llava_ov_answers_from_the_haystacks_composed_tokens(needles, llava, cache_dir, tmp_path):
    """The token path on a haystack: footage patch tokens from the cache with the needle's
    inserted, as close to a really rendered video's tokens as its codec allows."""
    (dog, _) = load_needles(needles)
    pipe = Pipeline(
        answerer=f"llava-ov:{llava}",
        params={"answerer": {"max_new_tokens": 4}},
        budget=4,
        device="cpu",
        cache_dir=str(cache_dir),
    )
    hay = Haystack(str(VTEST), dog.image, length=40, at=20, span=1, fps=1.0)
    result = pipe.ask(hay, dog.question, list(dog.options), selector="dks")
    assert 20 in [k.index for k in result.keyframes] and result.frames_considered == 41
    tokens = 9  # the tiny model's 5x5 patch grid pooled to 3x3
    assert result.tokens == {
        "before": 41 * tokens,
        "after": 4 * tokens,
        "keyframe_tokens": 4 * tokens,
        "merged_tokens": 0,
    }  # merge "drop": the keyframes' tokens only
    assert result.answer is not None  # random weights: any reply, but one was generated
    patch_encoder = pipe.answerer.patch_encoder
    composed = hay.extract(pipe.sampling(), pipe.encoder, pipe.cache, patch_encoder=patch_encoder)
    rendered = footage_with_photo(tmp_path / "needle.mp4", "chicky_512.png", 20.0, 1.0)
    real = VideoFile(str(rendered)).extract(
        Sampling(fps=1, end=21), pipe.encoder, pipe.cache, patch_encoder=patch_encoder
    )
    assert len(composed.patches) == 41
    mine, theirs = composed.patches[:21], real.patches[:21]  # (21, 9, D): before the needle, it
    composed.patches.close(), real.patches.close()
    distance = np.linalg.norm(mine[:, None] - theirs[None], axis=(2, 3))  # (21, 21)
    assert int(np.argmin(distance[:, 20])) == 20  # the rendered needle matches the inserted one
    relative = np.diag(distance) / np.linalg.norm(theirs, axis=(1, 2))
    assert relative.max() < 0.1, relative


def test_niah_refuses_a_frame_count(needles, tmp_path, capsys):
    """A haystack's candidates are its footage at --fps: --frames would be silently ignored."""
    out = tmp_path / "o"
    code = main(
        ["niah", "--haystack", str(VTEST), "--needles", str(needles), "--out", str(out),
         "--frames", "8", "--cache-dir", str(tmp_path / "c")]
    )  # fmt: skip
    assert code == 2 and "drop --frames" in capsys.readouterr().err and not out.exists()
