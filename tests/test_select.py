"""Keyframe selectors, built through the registry the way the pipeline builds them."""

from __future__ import annotations

import itertools
import time
import tracemalloc
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from framesift.errors import InputError
from framesift.select import SELECTORS, SelectionRequest

NAMES = ["uniform", "topk", "dks", "bolt", "aks"]
EXACT_LENGTH = NAMES  # every selector spends min(budget, N)
FAST = settings(max_examples=60, deadline=None)


def unit_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@st.composite
def problems(draw, max_n: int = 60, max_d: int = 6):
    """(relevance, embeddings, budget); half the time relevance has many exact ties."""
    n = draw(st.integers(0, max_n))
    d = draw(st.integers(1, max_d))
    budget = draw(st.integers(1, 80))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    tied = draw(st.booleans())
    relevance = rng.integers(0, 10, n) / 10 if tied else rng.uniform(-0.2, 1.0, n)
    return relevance, unit_rows(rng, n, d), budget


def uniform_reference(n: int, k: int) -> list[int]:
    k = min(k, n)
    return [int((j + 0.5) * n / k) for j in range(k)]


# ---------------------------------------------------------------- contract, every selector


@pytest.mark.parametrize("name", NAMES)
@FAST
@given(problem=problems())
def test_contract(name, problem):
    relevance, embeddings, budget = problem
    selector = SELECTORS.build(name)
    out = selector.select(SelectionRequest(relevance, embeddings, budget))
    n = len(relevance)
    assert out.dtype == np.int64 and out.ndim == 1
    assert len(out) <= min(budget, n)
    if name in EXACT_LENGTH:
        assert len(out) == min(budget, n)
    assert np.all(np.diff(out) > 0), "indices must be strictly increasing (temporal order)"
    assert np.all((out >= 0) & (out < n))
    assert np.array_equal(out, selector.select(SelectionRequest(relevance, embeddings, budget))), (
        "deterministic"
    )


@pytest.mark.parametrize("name", NAMES)
def test_empty_video_gives_empty_selection(name):
    out = SELECTORS.build(name).select(
        SelectionRequest(np.zeros(0), np.zeros((0, 4), np.float32), 8)
    )
    assert out.dtype == np.int64 and out.shape == (0,)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("budget", [7, 8, 100])
def test_budget_at_least_n_gives_every_frame(name, budget):
    rng = np.random.default_rng(0)
    out = SELECTORS.build(name).select(
        SelectionRequest(rng.uniform(0, 1, 7), unit_rows(rng, 7, 4), budget)
    )
    assert out.tolist() == list(range(7))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("budget", [0, -3, 2.5, True, "8"])
def test_bad_budget_raises(name, budget):
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="budget"):
        SELECTORS.build(name).select(
            SelectionRequest(rng.uniform(0, 1, 5), unit_rows(rng, 5, 4), budget)
        )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("relevance", "embeddings"),
    [
        (np.ones(5), np.ones((6, 4), np.float32)),  # N mismatch
        (np.ones(5), np.ones(5, np.float32)),  # embeddings not (N, D)
        (np.ones((5, 1)), np.ones((5, 4), np.float32)),  # relevance not (N,)
        (np.array([0.1, np.nan, 0.3]), np.ones((3, 4), np.float32)),
        (np.array([0.1, np.inf, 0.3]), np.ones((3, 4), np.float32)),
    ],
    ids=["n-mismatch", "emb-1d", "rel-2d", "nan", "inf"],
)
def test_bad_inputs_raise(name, relevance, embeddings):
    with pytest.raises(InputError):
        SELECTORS.build(name).select(SelectionRequest(relevance, embeddings, 2))


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("dks", {"relevance_floor": float("nan")}),
        ("dks", {"redundancy_ceiling": "high"}),
        ("bolt", {"alpha": -1.0}),
        ("aks", {"max_depth": -1}),
        ("aks", {"threshold": float("inf")}),
    ],
)
def test_bad_parameters_raise(name, params):
    with pytest.raises(InputError):
        SELECTORS.build(name, params)


def test_unknown_selector_lists_valid_names():
    with pytest.raises(InputError) as err:
        SELECTORS.build("nope")
    for name in NAMES:
        assert name in str(err.value)


# ---------------------------------------------------------------- uniform, top-k


@FAST
@given(n=st.integers(1, 500), budget=st.integers(1, 600))
def test_uniform_is_evenly_spaced(n, budget):
    out = SELECTORS.build("uniform").select(
        SelectionRequest(np.zeros(n), np.zeros((n, 1), np.float32), budget)
    )
    k = min(n, budget)
    assert out.tolist() == uniform_reference(n, k)
    assert set(np.diff(out).tolist()) <= {n // k, -(-n // k)}


@FAST
@given(problem=problems())
def test_topk_matches_sort_reference(problem):
    relevance, embeddings, budget = problem
    out = SELECTORS.build("topk").select(SelectionRequest(relevance, embeddings, budget))
    by_score = sorted(range(len(relevance)), key=lambda i: (-relevance[i], i))
    assert out.tolist() == sorted(by_score[:budget])


# ---------------------------------------------------------------- DKS


def dks_reference(relevance, embeddings, budget, floor, ceiling) -> list[int]:
    """Straightforward DKS with the full N x N similarity matrix, as the reference code does."""
    n = len(relevance)
    k = min(budget, n)
    sim = embeddings @ embeddings.T  # (N, N)
    redundant = [False] * n
    chosen: list[int] = []
    for i in sorted(range(n), key=lambda i: (-relevance[i], i)):
        if len(chosen) == k or relevance[i] < floor:
            break
        if redundant[i]:
            continue
        chosen.append(i)
        for j in range(n):
            redundant[j] = redundant[j] or bool(sim[i, j] > ceiling)
    if not chosen:
        return uniform_reference(n, k)
    bounds = [-1, *sorted(chosen), n]  # virtual neighbours outside the video
    spans = [b - a for a, b in itertools.pairwise(bounds)]
    given_ = [0] * len(spans)
    for _ in range(k - len(chosen)):
        open_gaps = [g for g in range(len(spans)) if given_[g] < spans[g] - 1]
        best = max(open_gaps, key=lambda g: (Fraction(spans[g], given_[g] + 1), -g))
        given_[best] += 1
    out = set(chosen)
    for g, m in enumerate(given_):
        out.update(bounds[g] + j * spans[g] // (m + 1) for j in range(1, m + 1))
    assert len(out) == k
    return sorted(out)


dks_params = st.tuples(
    st.sampled_from([-1.0, 0.0, 0.2, 0.5, 0.8]), st.sampled_from([0.0, 0.3, 0.6, 0.85, 0.95])
)


def cosine_margin(embeddings: np.ndarray, ceiling: float) -> float:
    e = embeddings.astype(np.float64)
    return float(np.abs(e @ e.T - ceiling).min()) if len(e) else 1.0


@settings(max_examples=150, deadline=None)
@given(problem=problems(max_d=3), params=dks_params)
def test_dks_matches_bruteforce_reference(problem, params):
    relevance, embeddings, budget = problem
    floor, ceiling = params
    assume(cosine_margin(embeddings, ceiling) > 1e-4)  # float32 rounding cannot flip a pair
    dks = SELECTORS.build("dks", {"relevance_floor": floor, "redundancy_ceiling": ceiling})
    expected = dks_reference(relevance, embeddings, budget, floor, ceiling)
    assert dks.select(SelectionRequest(relevance, embeddings, budget)).tolist() == expected


@FAST
@given(problem=problems(max_d=3), params=dks_params)
def test_dks_relevance_picks_are_relevant_and_not_redundant(problem, params):
    relevance, embeddings, budget = problem
    floor, ceiling = params
    assume(cosine_margin(embeddings, ceiling) > 1e-4)
    dks = SELECTORS.build("dks", {"relevance_floor": floor, "redundancy_ceiling": ceiling})
    picked = dks.select_relevant(SelectionRequest(relevance, embeddings, budget))
    assert len(picked) <= budget
    assert np.all(relevance[picked] >= floor)
    assert np.all(np.diff(relevance[picked]) <= 0), "visited by decreasing relevance"
    sim = embeddings[picked] @ embeddings[picked].T
    assert not np.any(np.triu(sim, k=1) > ceiling), "two relevance picks are redundant"
    assert set(picked.tolist()) <= set(
        dks.select(SelectionRequest(relevance, embeddings, budget)).tolist()
    )


def test_dks_falls_back_to_uniform_below_floor():
    rng = np.random.default_rng(1)
    relevance = rng.uniform(-0.5, 0.19, 100)
    embeddings = unit_rows(rng, 100, 8)
    out = SELECTORS.build("dks").select(SelectionRequest(relevance, embeddings, 10))
    assert (
        out.tolist()
        == SELECTORS.build("uniform").select(SelectionRequest(relevance, embeddings, 10)).tolist()
    )


def test_dks_fills_leftover_budget_into_largest_gaps():
    # every frame is the same picture: only the most relevant one is a keyframe
    n = 101
    embeddings = np.tile(unit_rows(np.random.default_rng(2), 1, 8), (n, 1))
    relevance = np.full(n, 0.3)
    relevance[20] = 0.9
    out = SELECTORS.build("dks").select(SelectionRequest(relevance, embeddings, 5))
    assert 20 in out.tolist()
    # the 80-frame stretch after the keyframe gets 3 frames, the 20 before it 1
    assert out.tolist() == [9, 20, 40, 60, 80]


@pytest.mark.parametrize("clustered", [False, True])
def test_dks_memory_is_linear_in_n(clustered):
    n, d, budget = 20_000, 64, 32
    rng = np.random.default_rng(3)
    if clustered:  # 8 scenes: after 8 picks everything is redundant, the gap fill runs
        centers = unit_rows(rng, 8, d)
        noisy = centers[rng.integers(0, 8, n)] + 0.01 * rng.standard_normal((n, d))
        embeddings = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    else:
        embeddings = unit_rows(rng, n, d)
    relevance = rng.uniform(0, 1, n)
    dks = SELECTORS.build("dks")
    tracemalloc.start()
    start = time.perf_counter()
    out = dks.select(SelectionRequest(relevance, embeddings, budget))
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(out) == budget
    assert peak < n * n * 4 / 50, f"peak {peak / 1e6:.1f} MB: an N x N matrix was built"
    assert elapsed < 5.0


# ---------------------------------------------------------------- BOLT


def bolt_reference(score: np.ndarray, n: int, power: float) -> np.ndarray:
    """``inverse_transform_sampling`` from sming256/BOLT select_frames.py (duplicates kept)."""
    score = score - np.min(score)
    score = score / np.max(score)
    score = score**power
    cdf = np.cumsum(score / np.sum(score))
    return np.searchsorted(cdf, np.linspace(1 / n, 1 - 1 / n, n))


@FAST
@given(
    n=st.integers(50, 300),
    budget=st.integers(2, 10),
    seed=st.integers(0, 2**32 - 1),
    alpha=st.sampled_from([0.5, 1.0, 2.5, 3.0]),
)
def test_bolt_follows_reference_when_samples_are_distinct(n, budget, seed, alpha):
    rng = np.random.default_rng(seed)
    relevance = rng.uniform(0.0, 0.4, n)
    expected = bolt_reference(relevance, budget, alpha)
    assume(len(np.unique(expected)) == budget)
    out = SELECTORS.build("bolt", {"alpha": alpha}).select(
        SelectionRequest(relevance, unit_rows(rng, n, 4), budget)
    )
    assert out.tolist() == expected.tolist()


def test_bolt_concentrates_on_relevant_region():
    rng = np.random.default_rng(4)
    relevance = 0.2 + 0.02 * rng.uniform(0, 1, 300)
    relevance[140:160] = 0.8 + 0.02 * rng.uniform(0, 1, 20)
    out = SELECTORS.build("bolt").select(SelectionRequest(relevance, unit_rows(rng, 300, 8), 16))
    assert len(out) == 16
    assert np.sum((out >= 140) & (out < 160)) >= 12


def test_bolt_refills_duplicates_next_to_them():
    relevance = np.zeros(50)
    relevance[25] = 1.0  # every quantile lands on frame 25
    out = SELECTORS.build("bolt").select(
        SelectionRequest(relevance, np.ones((50, 1), np.float32), 5)
    )
    assert out.tolist() == [23, 24, 25, 26, 27]


def test_bolt_constant_relevance_is_uniform():
    out = SELECTORS.build("bolt").select(
        SelectionRequest(np.full(40, 0.3), np.ones((40, 1), np.float32), 4)
    )
    assert out.tolist() == uniform_reference(40, 4)


# ---------------------------------------------------------------- AKS


def test_aks_takes_the_spike_when_there_is_one():
    rng = np.random.default_rng(5)
    relevance = 0.1 * rng.uniform(0, 1, 256)
    relevance[100:108] = 1.0
    out = SELECTORS.build("aks").select(SelectionRequest(relevance, unit_rows(rng, 256, 8), 8))
    assert out.tolist() == list(range(100, 108))


@pytest.mark.parametrize("flat", [False, True])
def test_aks_spreads_when_relevance_is_not_concentrated(flat):
    rng = np.random.default_rng(6)
    relevance = np.full(256, 0.4) if flat else rng.uniform(0, 1, 256)
    out = SELECTORS.build("aks").select(SelectionRequest(relevance, unit_rows(rng, 256, 8), 8))
    assert np.bincount(out // 32, minlength=8).tolist() == [1] * 8  # one per eighth


def test_aks_gives_the_odd_frame_to_the_more_relevant_half():
    relevance = np.zeros(256)
    relevance[:128] = np.linspace(0, 0.5, 128)  # left half more relevant, but not concentrated
    out = SELECTORS.build("aks").select(
        SelectionRequest(relevance, np.ones((256, 1), np.float32), 5)
    )
    assert len(out) == 5  # the reference's int(K / 2**depth) would return 4
    assert (out < 128).sum() > (out >= 128).sum()
