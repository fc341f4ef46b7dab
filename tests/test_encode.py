"""Encoders: shapes, unit norms, shared text/frame space, and hub-style loading."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_models import save_tiny_clip, save_tiny_siglip

from framesift.encode import ENCODERS, build_encoder
from framesift.errors import InputError


@pytest.fixture(scope="module", params=["clip", "siglip"])
def tiny_hf(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    (save_tiny_clip if request.param == "clip" else save_tiny_siglip)(folder)
    return request.param, build_encoder(f"hf:{folder}")


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


def test_bundled_encoder_sees_real_objects():
    from PIL import Image
    from skimage import data

    encoder = build_encoder("bundled")
    photos = [data.chelsea(), data.coffee(), data.rocket()]
    pixels = np.stack([np.asarray(Image.fromarray(p).resize((224, 224))) for p in photos])
    frames = encoder.encode_frames(pixels).embeddings  # (3, 384)
    texts = encoder.encode_text(["a cat", "a cup of coffee", "a rocket launch"])  # (3, 384)
    assert (np.argmax(texts @ frames.T, axis=1) == [0, 1, 2]).all()


def test_unknown_encoder_lists_the_valid_ones():
    with pytest.raises(InputError, match="bundled"):
        build_encoder("nonexistent")
    assert {"bundled", "hf"} <= set(ENCODERS.names())
