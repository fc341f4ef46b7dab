"""The ViLAMP long-video path through the public API: DKS keyframes, merged tokens, answers."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
import torch
from media import footage_with_photo
from tiny_models import save_tiny_llava_onevision

from framesift import Pipeline
from framesift.cli.main import main
from framesift.compress import MERGERS, compress_frames
from framesift.encode import build_encoder

WINDOW = {"start": 30.0, "end": 50.0}  # 20 candidate frames, the dog at 40-42 s
OPTIONS = ["a horse", "a dog", "a fish", "a bird"]
OPTION_ARGS = [arg for option in OPTIONS for arg in ("--option", option)]


@pytest.fixture(scope="module")
def encoder():
    return build_encoder("bundled")


@pytest.fixture(scope="module")
def dog_video(tmp_path_factory):
    return footage_with_photo(tmp_path_factory.mktemp("m") / "dog.mp4", "chicky_512.png", 40, 2)


@pytest.mark.parametrize(
    ("merge", "pool", "per_key", "per_other"),
    [("dfm", 1, 49, 1), ("mean", 1, 49, 1), ("drop", 1, 49, 0), ("dfm", 2, 16, 1)],
)
def test_token_counts_and_answer(encoder, dog_video, tmp_path, merge, pool, per_key, per_other):
    pipe = Pipeline(
        encoder=encoder, cache_dir=str(tmp_path), budget=4, merge=merge, keyframe_pool=pool
    )
    result = pipe.ask(dog_video, "Which animal appears?", OPTIONS, **WINDOW)
    assert result.frames_considered == 20
    assert result.tokens == {
        "before": 20 * 49,
        "after": 4 * per_key + 16 * per_other,
        "keyframe_tokens": 4 * per_key,
        "merged_tokens": 16 * per_other,
    }
    assert result.answer == "a dog"
    assert result.timings["compress"] > 0


def test_second_question_reuses_the_patch_tokens(encoder, dog_video, tmp_path, monkeypatch):
    pipe = Pipeline(encoder=encoder, cache_dir=str(tmp_path), budget=4, merge="dfm")
    first = pipe.ask(dog_video, "Which animal appears?", OPTIONS, **WINDOW)

    def forbidden(*args, **kwargs):
        raise AssertionError("cached patch tokens must not be decoded again")

    monkeypatch.setattr("framesift.cache.extraction.decode_frames", forbidden)
    again = pipe.ask(dog_video, "Is there a dog?", ["a cat", "a dog"], **WINDOW)
    assert again.cached and again.answer == "a dog"
    assert again.tokens == first.tokens


def test_damaged_patch_tokens_are_rebuilt(encoder, dog_video, tmp_path):
    pipe = Pipeline(encoder=encoder, cache_dir=str(tmp_path), budget=4, merge="dfm")
    clean = pipe.ask(dog_video, "Which animal appears?", OPTIONS, **WINDOW)
    (store,) = (tmp_path / "patches").rglob("*.patches")
    data = bytearray(store.read_bytes())
    data[len(data) // 2] ^= 0xFF
    store.write_bytes(bytes(data))
    rebuilt = pipe.ask(dog_video, "Which animal appears?", OPTIONS, **WINDOW)
    assert rebuilt.option_scores == pytest.approx(clean.option_scores)


def test_merging_memory_does_not_grow_with_the_video(encoder, dog_video, tmp_path):
    """compress reads rows from the patch file a chunk at a time: peak memory stays flat."""
    from framesift.cache import Cache, extract
    from framesift.decode import Sampling

    encoder_patches = Pipeline(encoder=encoder).answerer.patch_encoder
    store = extract(  # 795 frames
        dog_video,
        Sampling(fps=10),
        None,
        Cache(tmp_path),
        patch_encoder=encoder_patches,
        with_features=False,
    ).patches
    query = encoder_patches.embed_query("a dog")
    peaks = []
    with store:
        for n in (200, 795):
            view = _Prefix(store, n)
            tracemalloc.start()
            sequence = compress_frames(
                view,
                store.times[:n],
                np.array([5, n // 2]),
                query,
                MERGERS.build("dfm"),
                chunk_size=32,
            )
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
            assert len(sequence.embeddings) == 2 * 49 + (n - 2)
    store_bytes = 795 * 49 * 384 * 4
    assert peaks[1] < store_bytes / 4, peaks  # never the whole video's patches
    assert peaks[1] - peaks[0] < 595 * 384 * 4 * 4, peaks  # growth: a few vectors per frame


class _Prefix:
    """The first n rows of a PatchStore, to compare video lengths on one file."""

    def __init__(self, store, n):
        self.store, self.n = store, n

    def __len__(self):
        return self.n

    def __getitem__(self, rows):
        return self.store[rows]


@pytest.fixture(scope="module")
def tiny_llava(tmp_path_factory):
    return save_tiny_llava_onevision(tmp_path_factory.mktemp("llava"))


@pytest.mark.parametrize("answerer", ["llava-ov", "llava-ov-likelihood"])
def test_llava_onevision_answers_from_dfm_tokens(dog_video, tmp_path, tiny_llava, capsys, answerer):
    args = ["ask", str(dog_video), "Which animal appears?", *OPTION_ARGS,
            "--answerer", f"{answerer}:{tiny_llava}", "--merge", "dfm", "--budget", "3",
            "--start", "30", "--end", "50", "--json", "--cache-dir", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    tokens_per_frame = out["tokens"]["before"] // 20
    assert out["tokens"]["after"] == 3 * tokens_per_frame + 17
    assert out["answer_index"] in {-1, 0, 1, 2, 3}
    torch.manual_seed(0)  # generation is greedy: the seed must not matter
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["answer"] == out["answer"] and again["cached"]


def test_open_ended_answers_are_scored_by_text(dog_video, tmp_path, tiny_llava):
    annotations = tmp_path / "q.jsonl"
    annotations.write_text(
        json.dumps({"qid": "open", "video": dog_video.stem, "question": "What animal is it?",
                    "answer": "a dog", "start": 30, "end": 50}) + "\n"
        + json.dumps({"qid": "mc", "video": dog_video.stem, "question": "Which animal?",
                      "options": OPTIONS, "answer": "B", "start": 30, "end": 50}) + "\n"
    )  # fmt: skip
    out = tmp_path / "run"
    args = ["eval", "--benchmark", "generic", "--annotations", str(annotations),
            "--videos", str(dog_video.parent), "--out", str(out), "--budget", "2",
            "--answerer", f"llava-ov:{tiny_llava}", "--merge", "dfm",
            "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    assert main(args) == 0
    rows = {r["qid"]: r for r in map(json.loads, (out / "samples.jsonl").read_text().splitlines())}
    assert rows["open"]["error"] is None and isinstance(rows["open"]["prediction"], str)
    assert rows["open"]["resps"] == [[rows["open"]["prediction"]]]  # the generated text
    assert rows["mc"]["prediction"] in {None, "A", "B", "C", "D"}  # None: unparseable, wrong
