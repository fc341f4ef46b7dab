"""framesift.cache: one layer for per-video artefacts, on real footage and the bundled encoder.

Atomic entries (a writer killed mid-way leaves none, and the next writer removes its files),
two processes building one entry, damaged entries rebuilt with a notice, one decode pass for
features and patch tokens, decoding overlapped with encoding without changing a number,
the cheap fingerprint, the change detector, and a cache folder that cannot be one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from media import TREE, VTEST

from framesift.answer.similarity import EncoderPatches
from framesift.cache import Cache, extract, is_cached
from framesift.cache.fingerprints import sampled_ranges
from framesift.decode import Sampling, decode_frames, reader
from framesift.encode import build_encoder
from framesift.errors import InputError, VideoNotFoundError

WINDOW = Sampling(fps=1, start=20, end=40)  # 20 candidates of vtest


@pytest.fixture(scope="module")
def encoder():
    return build_encoder("bundled")


@pytest.fixture(scope="module")
def patches(encoder):
    return EncoderPatches(encoder)


def files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.rglob(pattern) if p.is_file())


def run_child(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


BUILD = """
    import sys, time
    from framesift.answer.similarity import EncoderPatches
    from framesift.cache import Cache, extract
    from framesift.decode import Sampling
    from framesift.encode import build_encoder

    encoder = build_encoder("bundled")
    stop = sys.argv[3] == "stop"

    def progress(done, total):
        print("written", done, flush=True)
        if stop:
            time.sleep(600)  # killed here, mid-write

    result = extract(sys.argv[1], Sampling(fps=1), encoder, Cache(sys.argv[2]),
                     patch_encoder=EncoderPatches(encoder), progress=progress)
    print("cached", result.cached, float(result.features.embeddings.sum()), flush=True)
"""


def test_killed_writer_leaves_no_entry_and_the_next_writer_cleans_up(tmp_path, encoder, patches):
    child = run_child(BUILD, str(VTEST), str(tmp_path), "stop")
    assert child.stdout.readline().startswith("written"), child.stderr.read()
    child.send_signal(signal.SIGKILL)  # mid-write: the first batch's rows are in its temp file
    child.wait()
    left = files(tmp_path, "*.tmp")
    assert left and all(f".{child.pid}-" in p.name for p in left)
    assert not files(tmp_path, "*.json")  # no sidecar: no entry
    assert not is_cached(VTEST, Sampling(fps=1), encoder, Cache(tmp_path), patch_encoder=patches)

    result = extract(VTEST, Sampling(fps=1), encoder, Cache(tmp_path), patch_encoder=patches)
    result.patches.close()
    assert not result.cached and len(result.features.times) == 80
    assert not files(tmp_path, "*.tmp")  # the dead writer's files are gone
    assert len(files(tmp_path, "*.json")) == 2  # features and patches, committed


def test_two_processes_building_one_entry_both_end_with_it(tmp_path):
    children = [run_child(BUILD, str(VTEST), str(tmp_path), "go") for _ in range(2)]
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=600)
        assert child.returncode == 0, err
        outputs.append(out.strip().splitlines()[-1].split())
    assert sorted(o[1] for o in outputs) == ["False", "True"]  # built once, read by the other
    assert outputs[0][2] == outputs[1][2]  # the same embeddings
    assert len(files(tmp_path, "*.json")) == 2 and not files(tmp_path, "*.tmp")
    cache = Cache(tmp_path)
    again = extract(VTEST, Sampling(fps=1), build_encoder("bundled"), cache)
    assert again.cached


@pytest.mark.parametrize("kind", ["safetensors", "patches"])
def test_damaged_entry_is_rebuilt_with_a_one_line_notice(tmp_path, encoder, patches, caplog, kind):
    cache = Cache(tmp_path)
    clean = extract(VTEST, WINDOW, encoder, cache, patch_encoder=patches)
    clean_patches = clean.patches[:]
    clean.patches.close()
    (data,) = files(tmp_path, f"*.{kind}")
    damaged = bytearray(data.read_bytes())
    damaged[-100] ^= 0xFF  # inside the numbers: parses fine, wrong values
    data.write_bytes(bytes(damaged))
    with caplog.at_level(logging.WARNING, logger="framesift.cache"):
        rebuilt = extract(VTEST, WINDOW, encoder, cache, patch_encoder=patches)
    notices = [r.getMessage() for r in caplog.records]
    assert len(notices) == 1 and "damaged" in notices[0] and "\n" not in notices[0]
    assert not rebuilt.cached
    np.testing.assert_array_equal(rebuilt.features.embeddings, clean.features.embeddings)
    np.testing.assert_array_equal(rebuilt.patches[:], clean_patches)
    rebuilt.patches.close()
    assert extract(VTEST, WINDOW, encoder, cache).cached  # trusted again


def test_one_decode_pass_feeds_features_and_patch_tokens(tmp_path, encoder, patches, monkeypatch):
    opened = []
    real = reader.open_video

    def counting(path, **kwargs):
        opened.append(path)
        return real(path, **kwargs)

    monkeypatch.setattr(reader, "open_video", counting)
    result = extract(VTEST, WINDOW, encoder, Cache(tmp_path), patch_encoder=patches)
    with result.patches as store:
        assert len(opened) == 1  # one decoding pass for both artefacts
        assert store.shape == (20, 49, 384)
        np.testing.assert_array_equal(store.times, result.features.times)
    opened.clear()
    assert extract(VTEST, WINDOW, encoder, Cache(tmp_path), patch_encoder=patches).cached
    assert not opened


def test_overlapped_decoding_gives_the_sequential_results(tmp_path, encoder):
    overlapped = extract(VTEST, Sampling(fps=2), encoder, Cache(tmp_path)).features
    times, embeddings = [], []
    for batch in decode_frames(VTEST, Sampling(fps=2), encoder.info.resize, batch_size=32):
        times.append(batch.times)  # decode, then encode, in one thread
        embeddings.append(encoder.encode_frames(batch.pixels).embeddings)
    np.testing.assert_array_equal(overlapped.times, np.concatenate(times))
    np.testing.assert_array_equal(overlapped.embeddings, np.concatenate(embeddings))


def test_progress_reports_frames_and_the_expected_total(tmp_path, encoder):
    calls = []
    extract(VTEST, Sampling(fps=1), encoder, Cache(tmp_path), progress=lambda *a: calls.append(a))
    assert calls == [(32, 80), (64, 80), (80, 80)]


def test_is_cached_decodes_nothing(tmp_path, encoder, patches, monkeypatch):
    cache = Cache(tmp_path)
    assert not is_cached(VTEST, WINDOW, encoder, cache)
    extract(VTEST, WINDOW, encoder, cache)
    monkeypatch.setattr(reader, "open_video", None)  # any decoding would fail
    assert is_cached(VTEST, WINDOW, encoder, cache)
    assert not is_cached(VTEST, WINDOW, encoder, cache, patch_encoder=patches)
    assert not is_cached(VTEST, WINDOW, encoder, None)


def test_without_a_cache_nothing_stays_on_disk(encoder, patches):
    before = set(Path(tempfile.gettempdir()).glob("framesift-scratch-*"))
    result = extract(VTEST, WINDOW, encoder, None, patch_encoder=patches)
    assert not result.cached
    assert set(Path(tempfile.gettempdir()).glob("framesift-scratch-*")) == before
    with result.patches as store:  # readable until closed
        assert store[:].shape == (20, 49, 384)


# --------------------------------------------------------------------------- fingerprint


@pytest.fixture
def built(tmp_path, encoder):
    """A copy of vtest with its features cached; (video, cache)."""
    video = Path(shutil.copy(VTEST, tmp_path / "clip.avi"))
    cache = Cache(tmp_path / "cache")
    extract(video, WINDOW, encoder, cache)
    return video, cache


def flip(path: Path, offset: int, keep_mtime: bool) -> None:
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def unsampled_offset(size: int) -> int:
    (_, head), (second, _) = sampled_ranges(size)[:2]
    assert second > head + 1
    return (head + second) // 2


def test_a_renamed_or_touched_copy_hits(built, encoder, tmp_path):
    video, cache = built
    copy = Path(shutil.copy(video, tmp_path / "renamed copy.avi"))  # new mtime
    assert is_cached(copy, WINDOW, encoder, cache)  # same content (hashed once to check)
    os.utime(video, ns=(0, 10**18))
    assert extract(video, WINDOW, encoder, cache).cached


def test_a_changed_sampled_byte_misses_even_with_the_old_mtime(built, encoder):
    video, cache = built
    flip(video, 100, keep_mtime=True)
    assert not is_cached(video, WINDOW, encoder, cache)


def test_a_changed_unsampled_byte_with_a_new_mtime_misses(built, encoder):
    video, cache = built
    flip(video, unsampled_offset(video.stat().st_size), keep_mtime=False)
    assert not is_cached(video, WINDOW, encoder, cache)  # its content digest differs


def test_what_the_sampled_fingerprint_cannot_see_full_hashing_does(built, encoder):
    video, cache = built
    full = Cache(cache.root, full_hash=True)
    extract(video, WINDOW, encoder, full)
    flip(video, unsampled_offset(video.stat().st_size), keep_mtime=True)
    assert is_cached(video, WINDOW, encoder, cache)  # documented blind spot
    assert not is_cached(video, WINDOW, encoder, full)


# --------------------------------------------------------------------------- change detector


def test_unchanged_frames_reuse_the_previous_embedding(tmp_path, encoder):
    exact = extract(TREE, Sampling(fps=1), encoder, Cache(tmp_path)).features
    reusing = extract(TREE, Sampling(fps=1), encoder, Cache(tmp_path), reuse_threshold=4.0)
    features = reusing.features
    np.testing.assert_array_equal(features.times, exact.times)  # every frame keeps its time
    assert reusing.reused > 0
    for i, embedding in enumerate(features.embeddings):  # its own, or an earlier frame's
        assert any((embedding == exact.embeddings[j]).all() for j in range(i + 1))
        assert embedding @ exact.embeddings[i] > 0.98  # and close to its own
    assert not reusing.cached and len(files(tmp_path, "*.safetensors")) == 2  # its own entry


# --------------------------------------------------------------------------- bad folders


def test_a_cache_folder_that_is_a_file_fails_at_once(tmp_path):
    afile = tmp_path / "cache"
    afile.write_text("not a folder")
    with pytest.raises(InputError, match="is a file") as error:
        Cache(afile)
    assert "\n" not in str(error.value)
    with pytest.raises(InputError, match="cannot write to the cache folder"):
        Cache(afile / "inside")


def test_an_unwritable_cache_folder_fails_at_once():
    with pytest.raises(InputError, match="cannot write to the cache folder /proc/self"):
        Cache("/proc/self")  # a folder no one may create files in, root included


def test_a_missing_video_fails_before_anything_is_written(tmp_path, encoder):
    with pytest.raises(VideoNotFoundError, match=r"nope\.mp4"):
        extract(tmp_path / "nope.mp4", WINDOW, encoder, Cache(tmp_path / "cache"))
    assert not files(tmp_path, "*")


def test_sidecar_says_what_the_entry_holds(tmp_path, encoder):
    extract(VTEST, WINDOW, encoder, Cache(tmp_path))
    (sidecar,) = files(tmp_path, "*.json")
    meta = json.loads(sidecar.read_text())
    assert meta["frames"] == 20 and meta["sampling"] == WINDOW.to_dict()
    assert meta["source"]["size"] == VTEST.stat().st_size and meta["source"]["content"]
