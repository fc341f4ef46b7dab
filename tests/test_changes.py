"""``--reuse-threshold``: the change detector from the pipeline, the CLI and V-NIAH, on real
footage (tree.avi: a window on a tree, long near-still stretches) with a real photo as needle.

Frames that repeat the last encoded one reuse its embedding, each keeps its own time, the
needle is still found and the question answered, and the setting is its own cache entry.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import MEDIA_DIR
from media import TREE
from PIL import Image

from framesift.cache import Cache, extract
from framesift.cli.main import main
from framesift.decode import Resize, Sampling, decode_frames
from framesift.errors import InputError
from framesift.pipeline import Pipeline, PipelineConfig
from framesift.synth import fit, write_video

FRUIT = ["an apple", "an orange", "a banana", "a pineapple"]
NEEDLE_AT = 15  # the candidate (second) that shows the photo
QUESTION = "Which fruit is shown?"


@pytest.fixture(scope="module")
def needle_video(tmp_path_factory):
    """tree.avi's 30 one-per-second frames re-encoded at 1 fps, frame 15 an orange's photo."""
    path = tmp_path_factory.mktemp("needle") / "tree_orange.mp4"
    frames = np.concatenate(
        [b.pixels for b in decode_frames(TREE, Sampling(fps=1), Resize(320, 240))]
    )  # (30, 240, 320, 3)
    photo = Image.open(MEDIA_DIR / "orange.jpg").convert("RGB")
    frames[NEEDLE_AT] = fit(np.asarray(photo), 320, 240)
    write_video(path, frames, fps=1)
    return path


def ask_json(capsys, video, *extra: str) -> dict:
    options = [arg for fruit in FRUIT for arg in ("--option", fruit)]
    assert main(["ask", str(video), QUESTION, *options, "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_reused_frames_keep_their_times_and_the_needle_is_found(needle_video, tmp_path, capsys):
    cache = ["--cache-dir", str(tmp_path)]
    out = ask_json(capsys, needle_video, "--reuse-threshold", "4", *cache)
    assert out["answer"] == "an orange"
    assert NEEDLE_AT in [k["index"] for k in out["keyframes"]]
    assert float(NEEDLE_AT) in [k["time"] for k in out["keyframes"]]  # its own time

    pipeline = Pipeline(cache_dir=str(tmp_path), reuse_threshold=4)  # 4 and 4.0: one setting
    assert pipeline.is_indexed(needle_video)
    assert not Pipeline(cache_dir=str(tmp_path)).is_indexed(needle_video)  # a separate entry
    sampling, encoder = pipeline.sampling(), pipeline.encoder
    reusing = extract(needle_video, sampling, encoder, Cache(tmp_path), reuse_threshold=4.0)
    exact = extract(needle_video, sampling, encoder, Cache(tmp_path))
    assert reusing.cached and not exact.cached  # what the CLI wrote, under its own key
    np.testing.assert_array_equal(reusing.features.times, np.arange(30.0))  # all distinct
    np.testing.assert_array_equal(reusing.features.times, exact.features.times)

    rows = reusing.features.embeddings
    repeated = [i for i in range(1, len(rows)) if (rows[i] == rows[i - 1]).all()]
    assert 2 <= len(repeated) <= 15, repeated  # still stretches reused, not everything
    assert NEEDLE_AT not in repeated and NEEDLE_AT + 1 not in repeated  # the photo differs
    cosine = np.sum(rows * exact.features.embeddings, axis=1)  # (30,) to each frame's own
    assert cosine[repeated].min() > 0.98
    fresh = np.setdiff1d(np.arange(len(rows)), repeated)
    np.testing.assert_allclose(cosine[fresh], 1.0, atol=1e-5)  # encoded frames are exact

    out = ask_json(capsys, needle_video, *cache)  # without the detector (the entry just built)
    assert out["answer"] == "an orange" and out["cached"] is True


def test_niah_with_the_detector_on_still_retrieves_every_needle(tmp_path, capsys):
    needles = tmp_path / "needles"
    needles.mkdir()
    shutil.copy(MEDIA_DIR / "orange.jpg", needles)
    (needles / "needles.json").write_text(
        json.dumps([{"image": "orange.jpg", "question": QUESTION, "options": FRUIT, "answer": 1}])
    )
    out = tmp_path / "niah"
    args = ["niah", "--haystack", str(TREE), "--needles", str(needles), "--out", str(out)]
    grid = ["--lengths", "90", "--depths", "0", "0.5", "1", "--selectors", "dks", "--budget", "8"]
    code = main([*args, *grid, "--reuse-threshold", "8", "--cache-dir", str(tmp_path / "c")])
    assert code == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["reuse_threshold"] == 8.0
    assert results["selectors"]["dks"]["retrieval"] == 1.0
    assert results["selectors"]["dks"]["accuracy"] == 1.0
    assert results["footage_frames"] == 30


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_a_threshold_that_is_no_grey_level_difference_is_one_line(value, tmp_path, capsys):
    cache = tmp_path / "cache"
    code = main(["ask", str(TREE), "Is there a tree?", "--reuse-threshold", value,
                 "--cache-dir", str(cache)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("framesift: error: reuse_threshold must be")
    assert "Traceback" not in err and not cache.exists()
    with pytest.raises(InputError, match="0 or more"):
        PipelineConfig(reuse_threshold=-0.5)
