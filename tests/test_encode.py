"""Encoders: shapes, unit norms, shared text/frame space, runtimes, devices and dtypes, and
hub-style loading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import MEDIA_DIR
from PIL import Image
from tiny_models import save_tiny_clip, save_tiny_siglip

from framesift.decode import Resize, Sampling, decode_frames
from framesift.encode import ENCODERS, build_encoder
from framesift.errors import InputError
from framesift.hub import ModelUnavailableError

PHOTOS = ["apple.jpg", "orange.jpg", "fruits.jpg", "HappyFish.jpg", "building.jpg", "home.jpg"]


@pytest.fixture(scope="module", params=["clip", "siglip"])
def tiny_hf(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    (save_tiny_clip if request.param == "clip" else save_tiny_siglip)(folder)
    return request.param, build_encoder(f"hf:{folder}")


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> Path:
    return save_tiny_clip(tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="module")
def real_frames() -> np.ndarray:
    """vtest.avi at 1 fps (street footage: uncertain classes, the hard case for equality)
    and real photos of objects, all at the bundled encoder's 224x224."""
    resize = Resize(224, 224)
    footage = [b.pixels for b in decode_frames(MEDIA_DIR / "vtest.avi", Sampling(fps=1), resize)]
    photos = [
        np.asarray(Image.open(MEDIA_DIR / name).convert("RGB").resize((224, 224)))
        for name in PHOTOS
    ]
    return np.concatenate([*footage, np.stack(photos)])


def test_hf_encoder_loads_through_from_pretrained(tiny_hf):
    family, encoder = tiny_hf
    pixels = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    features = encoder.encode_frames(pixels, with_patches=True)
    dim = 16 if family == "clip" else 32
    assert features.embeddings.shape == (5, dim)
    assert features.patches.shape == (5, 16, dim)  # (32 / 8)^2 patches, CLS dropped for CLIP
    np.testing.assert_allclose(np.linalg.norm(features.embeddings, axis=1), 1, atol=1e-5)
    text = encoder.encode_text(["a dog", "where is the cat in the kitchen?"])
    assert text.shape == (2, dim)
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1, atol=1e-5)
    assert encoder.info.resize.width == 32
    assert encoder.info.resize.crop == (family == "clip")  # as each processor config says
    assert "dks" in encoder.info.selector_defaults
    again = encoder.encode_frames(pixels).embeddings
    np.testing.assert_array_equal(again, features.embeddings)  # deterministic


def test_hf_encoder_identity_changes_with_the_weights(tmp_path):
    first = build_encoder(f"hf:{save_tiny_clip(tmp_path / 'a')}").info.name
    second = build_encoder(f"hf:{save_tiny_clip(tmp_path / 'b')}").info.name
    assert first != second  # the cache must not serve one model's features for another


def test_hf_half_precision_keeps_the_features_and_their_cache_key(tiny_clip):
    exact = build_encoder(f"hf:{tiny_clip}", device="cpu", dtype="float32")
    half = build_encoder(f"hf:{tiny_clip}", device="cpu", dtype="bfloat16")
    assert half.model.dtype == torch.bfloat16 and exact.model.dtype == torch.float32
    pixels = np.random.default_rng(1).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    questions = ["a dog on a sofa", "where is the red car?"]
    for a, b in [
        (exact.encode_frames(pixels).embeddings, half.encode_frames(pixels).embeddings),
        (exact.encode_text(questions), half.encode_text(questions)),
    ]:
        assert b.dtype == np.float32  # float32 numpy whatever the model runs in
        assert (a * b).sum(1).min() > 0.99
        assert not np.array_equal(a, b)  # it really ran in bfloat16
    assert half.info.name == exact.info.name  # cached features serve either dtype


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_hf_encoder_on_cuda_matches_the_cpu(tiny_clip):
    gpu = build_encoder(f"hf:{tiny_clip}", device="cuda")  # auto dtype there: float16
    cpu = build_encoder(f"hf:{tiny_clip}", device="cpu")
    assert gpu.model.device.type == "cuda" and gpu.model.dtype == torch.float16
    pixels = np.random.default_rng(2).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    a, b = cpu.encode_frames(pixels).embeddings, gpu.encode_frames(pixels).embeddings
    assert b.dtype == np.float32 and (a * b).sum(1).min() > 0.99
    assert gpu.info.name == cpu.info.name


def test_bad_device_or_dtype_is_one_line(tiny_clip):
    for kwargs in ({"device": "gpu"}, {"dtype": "float8"}, {"device": "cuda:99"}):
        with pytest.raises(InputError) as err:
            build_encoder(f"hf:{tiny_clip}", **kwargs)
        assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="bundled:torch"):
        build_encoder("bundled:onnx", dtype="float16")  # ONNX Runtime runs float32 graphs
    with pytest.raises(InputError, match="runtime"):
        build_encoder("bundled:tensorflow")


@pytest.mark.parametrize("spec", ["hf:does/not-exist", "hf:/missing/folder"])
def test_missing_hf_model_fails_fast_in_one_line(spec):
    """Offline, transformers alone retries the hub for about a minute, then prints a traceback."""
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError) as err:
        build_encoder(spec)
    assert time.monotonic() - started < 10
    assert "\n" not in str(err.value) and spec[3:] in str(err.value)


def test_bundled_encoder_sees_real_objects():
    from skimage import data

    encoder = build_encoder("bundled")
    photos = [data.chelsea(), data.coffee(), data.rocket()]
    pixels = np.stack([np.asarray(Image.fromarray(p).resize((224, 224))) for p in photos])
    frames = encoder.encode_frames(pixels).embeddings  # (3, 384)
    texts = encoder.encode_text(["a cat", "a cup of coffee", "a rocket launch"])  # (3, 384)
    assert (np.argmax(texts @ frames.T, axis=1) == [0, 1, 2]).all()


def test_onnx_runtime_equals_the_torch_reference_on_real_frames(real_frames):
    fast, reference = build_encoder("bundled:onnx"), build_encoder("bundled:torch")
    assert fast.info == reference.info  # one cache key: the runtime does not change meaning
    exact = reference.encode_frames(real_frames, with_patches=True)
    got = fast.encode_frames(real_frames, with_patches=True)
    assert got.embeddings.dtype == np.float32 and got.embeddings.shape == (len(real_frames), 384)
    assert (got.embeddings * exact.embeddings).sum(-1).min() >= 0.9999
    # A cell whose 10th and 11th classes nearly tie may swap them: measured, 1 cell in 4,214
    # at cosine 0.988, every other one >= 0.9999.
    patch_cosine = (got.patches * exact.patches).sum(-1)  # (B, 49)
    assert (patch_cosine >= 0.9999).mean() >= 0.999 and patch_cosine.min() >= 0.98
    np.testing.assert_array_equal(fast.encode_frames(real_frames).embeddings, got.embeddings)
    questions = ["Is there a dog?", "What fruit is on the table?", "a person walking " * 40]
    exact_text = reference.encode_text(questions)
    cosine = (fast.encode_text(questions) * exact_text).sum(-1)
    assert cosine.min() >= 0.9999  # the last one is truncated alike by both tokenizers
    served = build_encoder("bundled:onnx", {"text_runtime": "onnx"})  # the session for servers
    assert served.info == fast.info
    assert (served.encode_text(questions) * exact_text).sum(-1).min() >= 0.9999
    # the default: ONNX Runtime on the CPU, torch on a GPU
    assert build_encoder("bundled").runtime.name == (
        "torch" if torch.cuda.is_available() else "onnx"
    )


def test_bundled_in_half_precision_runs_torch_and_keeps_the_features(real_frames):
    half = build_encoder("bundled", dtype="bfloat16")  # ONNX Runtime runs float32 only
    assert half.runtime.name == "torch"
    photos = real_frames[-len(PHOTOS) :]
    exact = build_encoder("bundled:onnx").encode_frames(photos).embeddings
    got = half.encode_frames(photos).embeddings
    assert got.dtype == np.float32 and (got * exact).sum(-1).min() > 0.99  # measured >= 0.998
    assert half.info.name == build_encoder("bundled:onnx").info.name


_ASK = """
import json, sys
from framesift.encode import build_encoder
embedding = build_encoder("bundled", device="cpu").encode_text(["Is there a dog?"])[0]
heavy = sorted(m for m in ("torch", "transformers", "onnxruntime") if m in sys.modules)
print(json.dumps({"heavy": heavy, "embedding": embedding.tolist()}))
"""


def test_warm_question_path_reuses_its_files_and_loads_no_runtime(tmp_path):
    """A cached re-ask in a new process: the class-name embeddings come from the cache folder
    and the question is embedded in numpy: neither torch, transformers nor ONNX Runtime is
    imported."""
    env = {**os.environ, "FRAMESIFT_CACHE": str(tmp_path)}

    def ask() -> dict:
        out = subprocess.run(
            [sys.executable, "-c", _ASK], env=env, capture_output=True, text=True, check=True
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    cold = ask()  # embeds the 1,000 class prompts with the torch reference
    files = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "models").iterdir()}
    assert [name.split("-")[:3] for name in files] == [["imagenet", "class", "embeddings"]]
    warm = ask()
    assert warm["heavy"] == []
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "models").iterdir()} == files
    np.testing.assert_allclose(warm["embedding"], cold["embedding"], atol=1e-6)


def test_unwritable_cache_folder_is_one_line(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    monkeypatch.setenv("FRAMESIFT_CACHE", str(not_a_folder))
    with pytest.raises(InputError, match="FRAMESIFT_CACHE") as err:
        ENCODERS.get("bundled")(runtime="onnx")  # not build_encoder's loaded one
    assert "\n" not in str(err.value)


def test_unknown_encoder_lists_the_valid_ones():
    with pytest.raises(InputError, match="bundled"):
        build_encoder("nonexistent")
    assert {"bundled", "hf"} <= set(ENCODERS.names())


def test_unknown_text_runtime_is_one_line():
    with pytest.raises(InputError, match="text_runtime must be one of numpy, onnx"):
        build_encoder("bundled", {"text_runtime": "tensorflow"})
