"""Decode -> encode -> select -> answer through the public API, on real footage and weights."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from media import VTEST, footage_with_photo

import framesift
from framesift import Pipeline
from framesift.encode import build_encoder

DOG_START, DOG_SECONDS = 40.0, 2.0
WINDOW = {"start": 30.0, "end": 50.0}  # 20 candidates: enough for the cache tests, and quick


@pytest.fixture(scope="session")
def encoder():
    return build_encoder("bundled")


@pytest.fixture(scope="session")
def dog_video(tmp_path_factory):
    """vtest.avi with a real dog photo (chicky_512.png) shown for 2 s at 0:40."""
    path = tmp_path_factory.mktemp("media") / "vtest_dog.mp4"
    return footage_with_photo(path, "chicky_512.png", DOG_START, DOG_SECONDS)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    """One cache for the tests that do not test caching: the video is encoded once."""
    return tmp_path_factory.mktemp("shared")


def pipeline(encoder, tmp_path, **config):
    return Pipeline(encoder=encoder, cache_dir=str(tmp_path / "cache"), **config)


@pytest.mark.parametrize("selector", ["dks", "topk", "bolt", "aks"])
def test_dog_photo_in_real_footage_is_the_top_keyframe(encoder, dog_video, shared_cache, selector):
    result = pipeline(encoder, shared_cache, selector=selector, budget=4).ask(
        dog_video, "Is there a dog?"
    )
    top = max(result.keyframes, key=lambda k: k.score)
    assert DOG_START <= top.time < DOG_START + DOG_SECONDS
    assert result.frames_considered == 80  # 79.5 s at 1 fps
    assert len(result.keyframes) <= 4
    times = [k.time for k in result.keyframes]
    assert times == sorted(times)


def test_options_answered_from_the_keyframes(encoder, dog_video, shared_cache):
    result = pipeline(encoder, shared_cache, budget=4).ask(
        dog_video, "Which animal appears?", ["a horse", "a dog", "a fish", "a bird"]
    )
    assert result.answer == "a dog" and result.answer_index == 1
    assert len(result.option_scores) == 4


def test_same_question_same_answer(encoder, dog_video, tmp_path):
    first = pipeline(encoder, tmp_path).ask(dog_video, "Is there a dog?", ["yes, a dog", "a cat"])
    again = pipeline(encoder, tmp_path, use_cache=False).ask(
        dog_video, "Is there a dog?", ["yes, a dog", "a cat"]
    )
    assert first.keyframes == again.keyframes
    assert first.option_scores == again.option_scores


def test_window_restricts_candidates(encoder, dog_video, shared_cache):
    result = pipeline(encoder, shared_cache).ask(dog_video, "Is there a dog?", start=10, end=30)
    assert result.frames_considered == 20
    assert all(10 <= k.time < 30 for k in result.keyframes)


def test_second_question_is_served_from_the_cache(encoder, dog_video, tmp_path, monkeypatch):
    pipe = pipeline(encoder, tmp_path)
    first = pipe.ask(dog_video, "Is there a dog?", **WINDOW)
    assert not first.cached and first.timings["decode"] > 0

    def forbidden(*args, **kwargs):
        raise AssertionError("a cached video must not be decoded or encoded again")

    monkeypatch.setattr("framesift.cache.extraction.decode_frames", forbidden)
    monkeypatch.setattr(encoder, "encode_frames", forbidden)
    second = pipe.ask(dog_video, "Are there people walking?", **WINDOW)
    assert second.cached and second.tokens is None
    assert not (tmp_path / "cache" / "patches").exists()  # no patch tokens without --merge
    assert second.timings["decode"] == 0 and second.timings["encode"] == 0
    assert second.frames_considered == first.frames_considered


def test_cache_is_keyed_by_content_not_path(encoder, dog_video, tmp_path):
    pipe = pipeline(encoder, tmp_path)
    pipe.ask(dog_video, "Is there a dog?", **WINDOW)
    copy = shutil.copy(dog_video, tmp_path / "renamed copy.mp4")
    assert pipe.ask(copy, "Is there a dog?", **WINDOW).cached
    other = shutil.copy(VTEST, tmp_path / "vtest.avi")
    assert not pipe.ask(other, "Is there a dog?", **WINDOW).cached


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage_json"])
def test_corrupt_cache_entry_is_rebuilt(encoder, dog_video, tmp_path, damage):
    pipe = pipeline(encoder, tmp_path)
    clean = pipe.ask(dog_video, "Is there a dog?", **WINDOW)
    (tensors,) = (tmp_path / "cache").rglob("*.safetensors")
    data = bytearray(tensors.read_bytes())
    if damage == "truncate":
        tensors.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        data[-100] ^= 0xFF  # inside the embeddings: parses fine, wrong numbers
        tensors.write_bytes(bytes(data))
    else:
        tensors.with_suffix(".json").write_text("{not json")
    rebuilt = pipe.ask(dog_video, "Is there a dog?", **WINDOW)
    assert not rebuilt.cached
    assert rebuilt.keyframes == clean.keyframes
    assert pipe.ask(
        dog_video, "Is there a dog?", **WINDOW
    ).cached  # the rebuilt entry is trusted again


def test_public_api_is_small():
    assert {"Pipeline", "ask", "AskResult"} <= set(framesift.__all__)
    assert len(framesift.__all__) <= 12


def test_ask_function(encoder, dog_video, tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMESIFT_CACHE", str(tmp_path / "user-cache"))
    result = framesift.ask(dog_video, "Is there a dog?", budget=2, selector="topk")
    assert len(result.keyframes) == 2
    assert list((tmp_path / "user-cache").rglob("*.safetensors"))  # the user cache folder
    assert set(result.to_dict()) >= {"answer", "keyframes", "timings", "cached"}


def test_patch_embeddings_share_the_text_space(encoder, dog_video):
    from framesift.answer.similarity import EncoderPatches
    from framesift.cache import extract
    from framesift.decode import Sampling

    sampling = Sampling(fps=1, start=39, end=43)
    with extract(
        dog_video, sampling, encoder, None, patch_encoder=EncoderPatches(encoder)
    ).patches as patches:
        assert patches.shape == (4, 49, 384)
        query = encoder.encode_text(["a dog"])[0]
        dog_frames = (patches.times >= DOG_START) & (patches.times < DOG_START + DOG_SECONDS)
        patch_relevance = (patches[:] @ query).max(axis=1)  # (4,)
    assert patch_relevance[dog_frames].min() > patch_relevance[~dog_frames].max()


_ASK_WITH_THREADS = """
import json, os, sys
from framesift.cli.main import main
code = main(["ask", sys.argv[1], "Is there a dog?", "--threads", "1", "--cache-dir", sys.argv[2]])
heavy = sorted(m for m in ("torch", "transformers", "onnxruntime") if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy, "omp": os.environ.get("OMP_NUM_THREADS")}))
"""


def test_threads_reach_every_runtime_without_importing_torch(tmp_path):
    """--threads sets ONNX Runtime's threads through the encoder and torch's through
    OMP_NUM_THREADS, which torch reads if it is ever imported: a cached re-ask with --threads
    loads no torch (importing it only to set a count cost ~2 s)."""
    warm = build_encoder("bundled")  # graphs and class embeddings in the user cache
    warm.encode_frames(np.zeros((1, 224, 224, 3), np.uint8))
    assert Pipeline(threads=1).encoder.runtime.threads == 1
    command = [sys.executable, "-c", _ASK_WITH_THREADS, str(VTEST), str(tmp_path)]
    subprocess.run(command, check=True, capture_output=True)  # first ask: features computed
    out = subprocess.run(command, check=True, capture_output=True, text=True)  # cached re-ask
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "heavy": [], "omp": "1"}
