"""Compress stage: DFM / mean / drop mergers, reference keyframes, token sequence assembly."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from framesift.compress import MERGERS
from framesift.compress.base import reference_keyframes
from framesift.compress.dfm import DEFAULT_TEMPERATURE, DFMMerger, DFMProjections
from framesift.compress.sequence import SequenceBuilder, compress_frames, pool_keyframe
from framesift.errors import InputError


def basis(d: int, *axes: int) -> torch.Tensor:
    return torch.eye(d)[list(axes)]  # (len(axes), d) orthonormal rows


def orthonormal_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Patch 0 is the query direction, patch 1 equals the keyframe's patch 1, 2-3 are neutral.

    The patches are orthonormal, so the merged token's coordinates are the DFM weights.
    """
    x = basis(8, 0, 1, 2, 3)[None]  # (1, 4, 8)
    k = basis(8, 5, 1, 6, 7)[None]  # (1, 4, 8) only position 1 repeats the frame
    q = basis(8, 0)[0]  # (8,)
    return x, k, q


def einsum_dfm(x: torch.Tensor, k: torch.Tensor, q: torch.Tensor, t: float) -> torch.Tensor:
    xn, kn, qn = x / x.norm(dim=-1, keepdim=True), k / k.norm(dim=-1, keepdim=True), q / q.norm()
    s = (torch.einsum("bpd,d->bp", xn, qn) - torch.einsum("bpd,bpd->bp", kn, xn)) / t
    return torch.einsum("bp,bpd->bd", torch.softmax(s, dim=-1), x)


def test_registry_names_and_lazy_import():
    assert MERGERS.names() == ["dfm", "drop", "mean"]
    with pytest.raises(InputError, match="dfm"):
        MERGERS.build("nope")
    code = "import sys, framesift.compress; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dfm_favours_query_patches_and_penalises_keyframe_repeats():
    x, k, q = orthonormal_case()
    w = MERGERS.build("dfm", {"temperature": 1.0}).merge(x, k, q)[0, :4]  # weights of patches 0..3
    expected = torch.softmax(torch.tensor([1.0, -1.0, 0.0, 0.0]), dim=0)
    torch.testing.assert_close(w, expected)
    assert w[0] > w[2] == w[3] > w[1]


def test_dfm_identity_equals_einsum_reference():
    g = torch.Generator().manual_seed(0)
    x, k, q = (
        torch.randn(5, 9, 16, generator=g),
        torch.randn(5, 9, 16, generator=g),
        torch.randn(16),
    )
    for t in (0.01, DEFAULT_TEMPERATURE, 1.0):
        got = MERGERS.build("dfm", {"temperature": t}).merge(x, k, q)
        torch.testing.assert_close(got, einsum_dfm(x, k, q, t), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(MERGERS.build("dfm").merge(x, k, q), einsum_dfm(x, k, q, 0.1))


def test_dfm_temperature_sharpens_towards_argmax():
    x, k, q = orthonormal_case()
    top = [
        MERGERS.build("dfm", {"temperature": t}).merge(x, k, q)[0, 0].item() for t in (1e3, 1, 0.1)
    ]
    assert top[0] == pytest.approx(0.25, abs=1e-3)  # hot: the mean of the 4 patches
    assert top[0] < top[1] < top[2]
    assert top[2] == pytest.approx(1.0, abs=1e-4)  # cold: the query patch alone


def test_dfm_bfloat16_matches_float32_and_keeps_dtype():
    g = torch.Generator().manual_seed(1)
    x, k, q = torch.randn(3, 4, 8, generator=g), torch.randn(3, 4, 8, generator=g), torch.randn(8)
    merger = MERGERS.build("dfm")
    out = merger.merge(x.bfloat16(), k.bfloat16(), q.bfloat16())
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), merger.merge(x, k, q), rtol=0.05, atol=0.05)


def test_dfm_rejects_bad_shapes_and_temperature():
    x = torch.zeros(2, 4, 8)
    with pytest.raises(InputError, match="same"):
        MERGERS.build("dfm").merge(x, x[:1], torch.zeros(8))
    with pytest.raises(InputError, match="query"):
        MERGERS.build("dfm").merge(x, x, torch.zeros(4))
    with pytest.raises(InputError, match="temperature"):
        MERGERS.build("dfm", {"temperature": 0.0})


def test_learned_identity_init_equals_training_free_at_same_temperature():
    proj = DFMProjections(16)
    assert proj.temperature.item() == pytest.approx(0.01)
    g = torch.Generator().manual_seed(2)
    x, k, q = (
        torch.randn(4, 9, 16, generator=g),
        torch.randn(4, 9, 16, generator=g),
        torch.randn(16),
    )
    learned = DFMMerger(projections=proj).merge(x, k, q)
    torch.testing.assert_close(learned, MERGERS.build("dfm", {"temperature": 0.01}).merge(x, k, q))


def test_learned_round_trips_through_safetensors(tmp_path):
    torch.manual_seed(3)
    proj = DFMProjections(16, proj_dim=8)  # random init: not square
    with torch.no_grad():
        proj.log_temperature.fill_(math.log(0.05))
    proj.save(tmp_path / "dfm.safetensors")
    loaded = DFMProjections.load(tmp_path / "dfm.safetensors", dim=16)
    assert (loaded.dim, loaded.proj_dim) == (16, 8)
    for name, value in proj.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value, rtol=0, atol=0)
    x, k, q = torch.randn(2, 4, 16), torch.randn(2, 4, 16), torch.randn(16)
    from_path = MERGERS.build(f"dfm:{tmp_path / 'dfm.safetensors'}")
    torch.testing.assert_close(from_path.merge(x, k, q), DFMMerger(projections=proj).merge(x, k, q))


def test_learned_form_is_trainable():
    proj = DFMProjections(8, proj_dim=4)
    x, k, q = torch.randn(2, 4, 8), torch.randn(2, 4, 8), torch.randn(8)
    proj(x, k, q).square().sum().backward()
    assert proj.log_temperature.grad is not None and proj.wq.weight.grad is not None


def test_learned_load_errors(tmp_path):
    path = tmp_path / "dfm.safetensors"
    DFMProjections(8).save(path)
    with pytest.raises(InputError, match="dim 8, expected dim 16"):
        DFMProjections.load(path, dim=16)
    with pytest.raises(InputError, match="weights are for dim 8"):
        DFMMerger(weights=path).merge(torch.zeros(1, 4, 16), torch.zeros(1, 4, 16), torch.zeros(16))
    bad = {k: torch.zeros(16, 16) for k in ("wq.weight", "wiq.weight", "wk.weight", "wik.weight")}
    meta = {"format": "framesift.dfm.v1", "dim": "8", "proj_dim": "8"}
    save_file({**bad, "log_temperature": torch.tensor(0.0)}, tmp_path / "bad.safetensors", meta)
    with pytest.raises(InputError, match="do not match"):
        DFMProjections.load(tmp_path / "bad.safetensors")
    save_file({"w": torch.zeros(1)}, tmp_path / "other.safetensors")
    with pytest.raises(InputError, match="no framesift DFM"):
        DFMProjections.load(tmp_path / "other.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a tensor file")
    with pytest.raises(InputError, match="safetensors"):
        DFMProjections.load(tmp_path / "junk.safetensors")
    with pytest.raises(InputError, match="not found"):
        MERGERS.build(f"dfm:{tmp_path / 'missing.safetensors'}")
    with pytest.raises(InputError, match="not both"):
        DFMMerger(projections=DFMProjections(8), weights=path)


def test_mean_and_drop():
    x = torch.randn(3, 4, 8)
    torch.testing.assert_close(MERGERS.build("mean").merge(x, x, torch.zeros(8)), x.mean(1))
    assert MERGERS.build("drop").merge(x, x, torch.zeros(8)) is None


def test_reference_keyframes():
    ref = reference_keyframes(10, np.array([3, 7]))
    assert ref.tolist() == [3, 3, 3, 3, 3, 3, 3, 7, 7, 7]  # 0-2 use the following keyframe
    assert ref.dtype == np.int64
    assert reference_keyframes(4, np.array([0])).tolist() == [0, 0, 0, 0]
    assert reference_keyframes(3, np.array([0, 1, 2])).tolist() == [0, 1, 2]  # self-reference
    for bad in ([], [3, 3], [5, 2], [10], [-1], [1.0]):
        with pytest.raises(InputError, match="keyframes"):
            reference_keyframes(10, np.array(bad))


def test_pool_keyframe_matches_llava_onevision_apply_pooling():
    """Our pooling reproduces transformers' LlavaOnevisionModel.apply_pooling (factor 2)."""
    from types import SimpleNamespace

    from transformers.models.llava_onevision.modeling_llava_onevision import LlavaOnevisionModel

    for h in (4, 5):
        x = torch.randn(2, h * h, 6)
        vision = SimpleNamespace(image_size=h * 14, patch_size=14)
        fake = SimpleNamespace(config=SimpleNamespace(vision_config=vision))
        expected = LlavaOnevisionModel.apply_pooling(fake, x)
        assert expected.shape == (2, math.ceil(h / 2) ** 2, 6)
        torch.testing.assert_close(pool_keyframe(x, 2), expected)
    with pytest.raises(InputError, match="square"):
        pool_keyframe(torch.zeros(1, 6, 4), 2)


def video(n: int, p: int = 9, d: int = 8, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, p, d, generator=g), 10.0 + 0.5 * np.arange(n)  # patches, times


def by_chunks(patches, times, keyframes, merger, pool, bounds) -> object:
    """Stream through SequenceBuilder with chunks split at ``bounds``, merging per chunk."""
    q = torch.ones(patches.shape[-1])
    refs = reference_keyframes(len(patches), keyframes)
    builder = SequenceBuilder(times, keyframes, keyframe_pool=pool)
    edges = [0, *bounds, len(patches)]
    for a, b in itertools.pairwise(edges):
        idx = np.arange(a, b)
        builder.add_chunk(idx, patches[a:b], merger.merge(patches[a:b], patches[refs[idx]], q))
    return builder.build()


def assert_same(a, b) -> None:
    torch.testing.assert_close(a.embeddings, b.embeddings, rtol=0, atol=0)
    assert torch.equal(a.frame_of_token, b.frame_of_token)
    assert torch.equal(a.is_keyframe_token, b.is_keyframe_token)
    np.testing.assert_array_equal(a.times, b.times)
    assert a.tokens_before == b.tokens_before


@pytest.mark.parametrize(("name", "pool", "per_key", "per_other"), [
    ("dfm", 1, 9, 1), ("mean", 2, 4, 1), ("drop", 1, 9, 0), ("drop", 3, 1, 0),
])  # fmt: skip
def test_sequence_counts_order_and_times(name, pool, per_key, per_other):
    patches, times = video(12)
    keyframes = np.array([2, 5, 6, 11])
    seq = compress_frames(
        patches, times, keyframes, torch.ones(8), MERGERS.build(name), keyframe_pool=pool,
        chunk_size=5,
    )  # fmt: skip
    counts = np.bincount(seq.frame_of_token.numpy(), minlength=12)
    is_key = np.isin(np.arange(12), keyframes)
    np.testing.assert_array_equal(counts, np.where(is_key, per_key, per_other))
    assert len(seq.embeddings) == 4 * per_key + 8 * per_other
    assert np.all(np.diff(seq.frame_of_token.numpy()) >= 0)
    np.testing.assert_array_equal(seq.times, times[seq.frame_of_token.numpy()])
    np.testing.assert_array_equal(seq.is_keyframe_token.numpy(), is_key[seq.frame_of_token])
    assert seq.tokens_before == 12 * 9 and seq.frame_of_token.dtype == torch.int64
    if pool == 1:  # keyframes keep their patches exactly
        torch.testing.assert_close(
            seq.embeddings[seq.is_keyframe_token], patches[keyframes].flatten(0, 1)
        )


def test_sequence_from_float16_cache_array_and_single_chunk():
    patches, times = video(7)
    cache = patches.numpy().astype(np.float16)  # what the feature cache stores
    merger = MERGERS.build("dfm")
    one = compress_frames(cache, times, np.array([3]), np.ones(8, np.float32), merger, chunk_size=7)
    many = compress_frames(
        cache, times, np.array([3]), np.ones(8, np.float32), merger, chunk_size=2
    )
    assert_same(one, many)
    assert one.embeddings.dtype == torch.float16 and one.compression == pytest.approx(63 / 15)


def test_sequence_builder_rejects_misuse():
    patches, times = video(6)
    builder = SequenceBuilder(times, np.array([1]))
    with pytest.raises(InputError, match="temporal order"):
        builder.add_chunk(np.array([1, 2]), patches[1:3], None)  # does not start at frame 0
    builder.add_chunk(np.array([0, 1]), patches[:2], None)
    with pytest.raises(InputError, match="temporal order"):
        builder.add_chunk(np.array([0, 1]), patches[:2], None)  # repeats frames
    with pytest.raises(InputError, match="were added"):
        builder.build()
    with pytest.raises(InputError, match="keyframes"):
        SequenceBuilder(times, np.array([], dtype=np.int64))
    with pytest.raises(InputError, match="keyframe_pool"):
        SequenceBuilder(times, np.array([1]), keyframe_pool=0)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 20),
    data=st.data(),
    name=st.sampled_from(["dfm", "mean", "drop"]),
    pool=st.sampled_from([1, 2]),
)
def test_chunking_never_changes_the_sequence(n, data, name, pool):
    keyframes = np.array(sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1))))
    bounds = sorted(data.draw(st.sets(st.integers(1, n - 1), max_size=n - 1)) if n > 1 else [])
    patches, times = video(n, seed=n)
    merger = MERGERS.build(name)
    single = by_chunks(patches, times, keyframes, merger, pool, [])
    assert_same(by_chunks(patches, times, keyframes, merger, pool, bounds), single)
    per_key = 9 if pool == 1 else 4
    per_other = 0 if name == "drop" else 1
    assert len(single.embeddings) == len(keyframes) * per_key + (n - len(keyframes)) * per_other
