"""SeViLA-style VLM localizer on a tiny random LLaVA-OneVision and a generated video."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import index_frame, make_indexed_video, read_indices
from tiny_models import save_tiny_llava_onevision

from framesift.decode import Resize, Sampling, decode_at, decode_frames
from framesift.encode import build_encoder
from framesift.errors import InputError
from framesift.pipeline import Pipeline
from framesift.select import SelectionRequest
from framesift.select.localizer import VLMLocalizer, localizer_text
from framesift.source import VideoFile
from framesift.synth import write_video

QUESTION = "What number is written on the frame?"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_tiny_llava_onevision(tmp_path_factory.mktemp("llava_ov"))


@pytest.fixture(scope="module")
def localizer(folder):
    return VLMLocalizer(str(folder), batch_size=3, device="cpu")


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """4 s at 4 fps; frame k shows k in stripes."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    write_video(path, (index_frame(k) for k in range(16)), fps=4)
    return str(path)


def _select(localizer, video: str, times: np.ndarray, budget: int) -> np.ndarray:
    """The localizer's pick among candidates at ``times``, as the pipeline asks it."""
    n = len(times)
    request = SelectionRequest(
        relevance=np.zeros(n),
        embeddings=np.zeros((n, 1), np.float32),
        budget=budget,
        times=times,
        question=QUESTION,
        frames=VideoFile(video).frames(times),
    )
    return localizer.select(request)


def _pool(video: str, fps: float = 2.0) -> np.ndarray:
    """(N,) candidate times as the pipeline decodes them."""
    batches = decode_frames(video, Sampling(fps=fps), Resize(32, 32))
    return np.concatenate([b.times for b in batches])


def test_prompt_is_sevilas_localizer_question():
    text = localizer_text("  Why did he jump? ")
    sevila = (
        "Does the information within the frame provide the necessary details to accurately "
        "answer the given question?"
    )
    assert text.startswith("Question: Why did he jump?\n" + sevila)
    assert text.endswith("Answer yes or no.")


def test_scores_budget_order_and_determinism(localizer, video):
    times = _pool(video)  # 8 candidates
    chosen = _select(localizer, video, times, 3)
    scores = localizer.last_scores
    assert scores.shape == (len(times),) and scores.dtype == np.float64
    assert ((scores >= 0) & (scores <= 1)).all()
    assert chosen.dtype == np.int64 and len(chosen) == 3 and (np.diff(chosen) > 0).all()
    expected = np.sort(np.argsort(-scores, kind="stable")[:3])  # top 3, ties to the earlier
    np.testing.assert_array_equal(chosen, expected)
    again = _select(localizer, video, times, 3)
    np.testing.assert_array_equal(again, chosen)
    np.testing.assert_array_equal(localizer.last_scores, scores)
    everything = _select(localizer, video, times, 50)
    np.testing.assert_array_equal(everything, np.arange(len(times)))


def test_batching_does_not_change_scores(localizer, video):
    times = _pool(video)
    batched = localizer.score_frames(VideoFile(video).frames(times), len(times), QUESTION)
    localizer.batch_size = localizer.vlm.patches.batch_size = len(times)
    try:
        whole = localizer.score_frames(VideoFile(video).frames(times), len(times), QUESTION)
    finally:
        localizer.batch_size = localizer.vlm.patches.batch_size = 3
    np.testing.assert_allclose(batched, whole, atol=1e-5)


def test_question_changes_the_scores(localizer, video):
    times = _pool(video)
    other = localizer.score_frames(VideoFile(video).frames(times), len(times), "Is the sky blue?")
    assert not np.allclose(
        localizer.score_frames(VideoFile(video).frames(times), len(times), QUESTION), other
    )


@pytest.mark.parametrize("gop", [None, 4])
def test_candidate_frames_are_redecoded_exactly(tmp_path, gop):
    """Scattered candidates of a 25 s video, read by sequential decoding and by seeking
    (5 s apart, keyframes every 4 frames): each comes back as its own frame."""
    path = make_indexed_video(tmp_path / "long.mp4", 50, fps=2, gop=gop)
    pool = list(decode_frames(path, Sampling(fps=2), Resize(128, 48)))
    times = np.concatenate([b.times for b in pool])
    frames = np.concatenate([b.pixels for b in pool])
    for pick in (np.arange(len(times)), np.array([0, 3, 4, 17, 49]), np.arange(0, 50, 10)):
        got = list(decode_at(path, times[pick], Resize(128, 48), batch_size=2))
        np.testing.assert_array_equal(np.concatenate([b.times for b in got]), times[pick])
        pixels = np.concatenate([b.pixels for b in got])
        assert read_indices(pixels) == read_indices(frames[pick]) == pick.tolist()


def test_rejects_times_that_are_not_frame_times(localizer, video):
    times = _pool(video)
    with pytest.raises(InputError, match="did not decode to its own frame"):
        _select(localizer, video, times + 0.1, 2)  # between two frames
    with pytest.raises(InputError, match="did not decode to its own frame"):
        _select(localizer, video, times[::-1].copy(), 2)
    with pytest.raises(InputError, match="budget"):
        _select(localizer, video, times, 0)
    empty = _select(localizer, video, np.empty(0), 2)
    assert empty.dtype == np.int64 and len(empty) == 0 and len(localizer.last_scores) == 0


def test_through_the_pipeline(folder, video, tmp_path):
    pipeline = Pipeline(
        selector=f"vlm-localizer:{folder}",
        budget=2,
        encoder=build_encoder("bundled"),
        cache_dir=str(tmp_path),
    )
    result = pipeline.ask(video, QUESTION)
    assert len(result.keyframes) == 2
    indices = [k.index for k in result.keyframes]
    assert indices == sorted(indices) and len(set(indices)) == 2
    assert result.frames_considered == 4  # 4 s at the default 1 fps


def test_localizer_and_answerer_share_one_model(folder, tmp_path):
    pipeline = Pipeline(
        selector=f"vlm-localizer:{folder}",
        answerer=f"llava-ov:{folder}",
        device="cpu",
        encoder=build_encoder("bundled"),
        cache_dir=str(tmp_path),
    )
    pipeline.load()
    assert pipeline.selector().vlm is pipeline.answerer.vlm
    assert len(pipeline.models) == 1
