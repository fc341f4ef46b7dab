"""framesift.decode on synthetic videos (frame k shows index k) and real ones (tests/assets)."""

from __future__ import annotations

import json
import logging
import math
import re
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np
import pytest
from conftest import index_frame, make_audio, make_indexed_video, make_video, read_indices
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framesift.decode import (
    FrameBatch,
    Resize,
    Sampling,
    VideoInfo,
    decode_frames,
    probe,
    reader,
    workers,
)
from framesift.errors import InputError, VideoDecodeError, VideoNotFoundError

SMALL = Resize(64, 24)  # squashing keeps the index stripes readable
VFR_TIMES = [0, 0.1, 0.5, 0.6, 1.7, 2.0, 2.05, 3, 3.3, 4, 4.1, 4.2, 5, 6, 6.5, 7, 7.5, 8, 9, 9.9]


def decode_all(path, sampling, resize=SMALL, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """(times, pixels) of every candidate, batches joined."""
    batches = list(decode_frames(path, sampling, resize, **kwargs))
    for b in batches:
        assert isinstance(b, FrameBatch)
        assert b.times.dtype == np.float64 and b.pixels.dtype == np.uint8
        assert b.pixels.shape == (len(b.times), resize.height, resize.width, 3)
    if not batches:
        return np.zeros(0), np.zeros((0, resize.height, resize.width, 3), np.uint8)
    return np.concatenate([b.times for b in batches]), np.concatenate([b.pixels for b in batches])


def expected(frame_times, targets, end_of_last):
    """Reference: index of the frame on screen at each target, targets past the end dropped,
    repeats removed, in order."""
    frame_times = np.asarray(frame_times, dtype=np.float64)
    out: list[int] = []
    for t in targets:
        if t >= end_of_last - 1e-6:
            break
        i = max(int(np.searchsorted(frame_times, t + 1e-6, side="right")) - 1, 0)
        if not out or out[-1] != i:
            out.append(i)
    return out


def fps_targets(fps, start=0.0, end=math.inf):
    k, out = 0, []
    while start + k / fps < end - 1e-9 and k < 10_000:
        out.append(start + k / fps)
        k += 1
    return out


def count_targets(n, start, end):
    return [start + (i + 0.5) * (end - start) / n for i in range(n)]


@pytest.fixture
def count_seeks(monkeypatch):
    """Counts the seeks the reader makes (a list, one entry per seek target)."""
    calls: list[float] = []
    real = reader._seek

    def counting(src, target):
        calls.append(target)
        return real(src, target)

    monkeypatch.setattr(reader, "_seek", counting)
    return calls


# --------------------------------------------------------------------------- probe


def test_probe_cfr(cfr_video):
    info = probe(cfr_video)
    assert isinstance(info, VideoInfo)
    assert info.path == str(cfr_video)
    assert info.codec == "h264"
    assert (info.width, info.height) == (128, 48)
    assert info.fps == pytest.approx(10.0)
    assert info.frame_count == 100
    assert info.duration == pytest.approx(10.0)


def test_probe_accepts_str_and_pathlike(cfr_video):
    assert probe(str(cfr_video)) == probe(Path(cfr_video))


# --------------------------------------------------------------------------- CFR sampling

CFR_CASES = [
    (Sampling(fps=1), fps_targets(1, 0, 10)),
    (Sampling(fps=2.5), fps_targets(2.5, 0, 10)),
    (Sampling(count=7), count_targets(7, 0, 10)),
    (Sampling(fps=1, start=2.5, end=6), fps_targets(1, 2.5, 6)),
    (Sampling(count=4, start=2, end=6), count_targets(4, 2, 6)),
    (Sampling(fps=0.3, start=1.05), fps_targets(0.3, 1.05, 10)),
]


@pytest.mark.parametrize("strategy", ["sequential", "seek", "auto"])
@pytest.mark.parametrize(("sampling", "targets"), CFR_CASES, ids=lambda x: str(x)[:40])
def test_cfr_times_and_pixels(cfr_video, sampling, targets, strategy):
    times, pixels = decode_all(cfr_video, sampling, strategy=strategy)
    want = expected(np.arange(100) / 10, targets, 10.0)
    assert read_indices(pixels) == want
    np.testing.assert_allclose(times, np.array(want) / 10, atol=1e-9)


def test_cfr_fps1_exact_times(cfr_video):
    times, pixels = decode_all(cfr_video, Sampling(fps=1))
    assert times.tolist() == [float(k) for k in range(10)]
    assert read_indices(pixels) == list(range(0, 100, 10))


def test_sampling_faster_than_video_keeps_each_frame_once(cfr_video):
    times, pixels = decode_all(cfr_video, Sampling(fps=37, start=1, end=3))
    assert read_indices(pixels) == list(range(10, 30))
    assert np.all(np.diff(times) > 0)


def test_batches_are_bounded_and_ordered(cfr_video):
    batches = list(decode_frames(cfr_video, Sampling(fps=2.5), SMALL, batch_size=4))
    assert [len(b.times) for b in batches] == [4, 4, 4, 4, 4, 4, 1]
    times = np.concatenate([b.times for b in batches])
    assert np.all(np.diff(times) > 0)


# --------------------------------------------------------------------------- VFR, slow, no rate


@pytest.fixture(scope="module")
def vfr_mkv(tmp_path_factory) -> Path:
    """VFR Matroska with no frame-rate metadata (framerate 0): frame k at VFR_TIMES[k]."""
    return make_indexed_video(tmp_path_factory.mktemp("vfr") / "vfr.mkv", 20, VFR_TIMES)


def test_vfr_mkv_without_frame_rate_metadata(vfr_mkv):
    info = probe(vfr_mkv)
    assert info.fps is None  # the stream states no rate
    assert info.frame_count is None  # Matroska does not state a frame count
    assert info.duration == pytest.approx(10.8)  # last frame at 9.9 s, shown for 0.9 s


@pytest.mark.parametrize("strategy", ["sequential", "seek"])
@pytest.mark.parametrize("fps", [1, 0.5, 3, 20])
def test_vfr_candidates(vfr_mkv, fps, strategy):
    times, pixels = decode_all(vfr_mkv, Sampling(fps=fps), strategy=strategy)
    want = expected(VFR_TIMES, fps_targets(fps), 9.9 + 0.9)
    assert read_indices(pixels) == want
    np.testing.assert_allclose(times, np.array(VFR_TIMES)[want], atol=1e-9)


@pytest.mark.parametrize("options", [{}, {"bf": "0"}], ids=["bframes", "no-bframes"])
def test_vfr_mp4(tmp_path, options):
    path = make_indexed_video(tmp_path / "vfr.mp4", 20, VFR_TIMES, options=options)
    times, pixels = decode_all(path, Sampling(fps=1))
    want = expected(VFR_TIMES, fps_targets(1), 10.8)
    assert read_indices(pixels) == want
    np.testing.assert_allclose(times, np.array(VFR_TIMES)[want], atol=1e-9)
    # With B-frames this MP4's stated duration comes from dts and understates the video
    # (9.4 s, not 10.8 s); fps sampling without an end still reaches the frame at 9.9 s.
    assert times[-1] == pytest.approx(9.9)


def test_half_fps_video(tmp_path):
    path = make_indexed_video(tmp_path / "slow.mp4", 10, fps=Fraction(1, 2))
    info = probe(path)
    assert info.fps == pytest.approx(0.5)
    assert info.duration == pytest.approx(20.0)
    for strategy in ("sequential", "seek"):
        times, pixels = decode_all(path, Sampling(fps=1), strategy=strategy)
        assert times.tolist() == [2.0 * k for k in range(10)]
        assert read_indices(pixels) == list(range(10))


def test_raw_stream_without_timestamps(tmp_path):
    """A raw H.264 stream has no pts/dts and no duration: frames are timed by counting."""
    path = make_indexed_video(tmp_path / "raw.h264", 30, fps=10)
    info = probe(path)
    assert info.duration == pytest.approx(3.0)  # measured by decoding
    for strategy in ("sequential", "seek"):
        times, pixels = decode_all(path, Sampling(fps=2), strategy=strategy)
        np.testing.assert_allclose(times, np.arange(6) / 2)
        assert read_indices(pixels) == list(range(0, 30, 5))


# --------------------------------------------------------------------------- strategies


@pytest.fixture(scope="module")
def strategy_videos(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("strategies")
    return {
        # B-frames, keyframe every 0.5 s: the MP4 index makes seeks worth it even at 1 fps
        "h264-mp4": make_indexed_video(d / "a.mp4", 200, fps=10, gop=5),
        "mpeg4-avi": make_indexed_video(d / "b.avi", 200, fps=10, codec="mpeg4", gop=25),
        # Matroska has no index until a first seek reads its cues
        "h264-mkv": make_indexed_video(d / "c.mkv", 200, fps=10, gop=20),
    }


@pytest.mark.parametrize("video", ["h264-mp4", "mpeg4-avi", "h264-mkv"])
@pytest.mark.parametrize(
    "sampling",
    [Sampling(fps=1), Sampling(count=3), Sampling(fps=0.15, start=0.45, end=19.5)],
    ids=str,
)
def test_sequential_and_seek_identical(strategy_videos, video, sampling, count_seeks):
    path = strategy_videos[video]
    seq_t, seq_px = decode_all(path, sampling, strategy="sequential")
    assert not count_seeks
    seek_t, seek_px = decode_all(path, sampling, strategy="seek")
    np.testing.assert_array_equal(seq_t, seek_t)
    np.testing.assert_array_equal(seq_px, seek_px)
    want = expected(np.arange(200) / 10, list(np.asarray(seq_t)), 20.0)
    assert read_indices(seq_px) == [round(t * 10) for t in seq_t] == want
    if sampling.count == 3 or video != "h264-mkv":  # sparse enough, or an index to go by
        assert count_seeks, "the seek strategy never sought"


def test_auto_seeks_only_for_sparse_pools(strategy_videos, count_seeks):
    path = strategy_videos["h264-mp4"]
    decode_all(path, Sampling(fps=1))
    assert not count_seeks
    decode_all(path, Sampling(count=3))  # one target every 6.7 s
    assert count_seeks


def test_seek_landing_past_target_falls_back(strategy_videos, monkeypatch):
    path = strategy_videos["h264-mp4"]
    want = decode_all(path, Sampling(fps=0.5), strategy="sequential")
    real = reader._seek

    def overshoot(src, target):  # pretend the container put us 1.5 s too late
        return real(src, target + 1.5)

    monkeypatch.setattr(reader, "_seek", overshoot)
    got = decode_all(path, Sampling(fps=0.5), strategy="seek")
    np.testing.assert_array_equal(want[0], got[0])
    np.testing.assert_array_equal(want[1], got[1])


def test_refused_seek_midway_falls_back(strategy_videos, monkeypatch):
    path = strategy_videos["mpeg4-avi"]
    want = decode_all(path, Sampling(fps=0.7), strategy="sequential")
    real, calls = reader._seek, []

    def refuse_second(src, target):
        calls.append(target)
        if len(calls) == 2:
            raise reader._SeekFailed(target)
        return real(src, target)

    monkeypatch.setattr(reader, "_seek", refuse_second)
    got = decode_all(path, Sampling(fps=0.7), strategy="seek")
    assert len(calls) == 2  # after the refusal: one pass from the start, no more seeks
    np.testing.assert_array_equal(want[0], got[0])
    np.testing.assert_array_equal(want[1], got[1])


def test_container_refusing_to_seek_is_reported_as_seek_failure(tmp_path):
    from framesift.decode.source import open_video

    path = make_indexed_video(tmp_path / "raw.h264", 30, fps=10)
    with open_video(path) as src, pytest.raises(reader._SeekFailed):
        reader._seek(src, 1.0)  # raw streams cannot seek (EPERM)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fps=st.floats(0.05, 30),
    start=st.floats(0, 9.8),
    length=st.floats(0.05, 12),
    count=st.one_of(st.none(), st.integers(1, 40)),
    strategy=st.sampled_from(["sequential", "seek"]),
)
def test_matches_reference_on_vfr(vfr_mkv, fps, start, length, count, strategy):
    end = start + length
    sampling = Sampling(fps=fps, count=count, start=start, end=end)
    if count is None:
        targets = fps_targets(fps, start, end)
    else:
        targets = count_targets(count, start, min(end, 10.8))
    times, pixels = decode_all(vfr_mkv, sampling, strategy=strategy)
    want = expected(VFR_TIMES, targets, 10.8)
    assert read_indices(pixels) == want
    np.testing.assert_allclose(times, np.array(VFR_TIMES)[want], atol=1e-9)


# --------------------------------------------------------------------------- resize


def test_resize_squash_and_crop(tmp_path):
    # 128x48: green outer quarters, red middle half
    frame = np.zeros((48, 128, 3), np.uint8)
    frame[:, :32, 1] = frame[:, 96:, 1] = 255
    frame[:, 32:96, 0] = 255
    path = make_video(tmp_path / "rg.mp4", [frame] * 5, fps=1)

    _, squashed = decode_all(path, Sampling(fps=1), Resize(width=40, height=30))
    assert squashed.shape == (5, 30, 40, 3)
    assert squashed[0, :, :8, 1].mean() > 200  # green edges kept
    assert squashed[0, :, 16:24, 0].mean() > 200  # red middle, channels in RGB order

    _, cropped = decode_all(path, Sampling(fps=1), Resize(width=32, height=32, crop=True))
    assert cropped.shape == (5, 32, 32, 3)  # scaled to 85x32, then the middle 32 columns
    assert cropped[..., 0].mean() > 200 and cropped[..., 1].mean() < 40

    _, tall = decode_all(path, Sampling(fps=1), Resize(width=20, height=60, crop=True))
    assert tall.shape == (5, 60, 20, 3)


def test_squash_keeps_frame_content(cfr_video):
    _, pixels = decode_all(cfr_video, Sampling(fps=1), Resize(width=300, height=7))
    assert read_indices(pixels) == list(range(0, 100, 10))


# --------------------------------------------------------------------------- real media


def test_vtest_avi(media_dir):
    path = media_dir / "vtest.avi"
    info = probe(path)
    assert info.codec.startswith("msmpeg4")
    assert (info.width, info.height, info.fps, info.frame_count) == (384, 288, 10.0, 795)
    assert info.duration == pytest.approx(79.5)
    times, pixels = decode_all(path, Sampling(fps=1), Resize(224, 224, crop=True))
    assert times.tolist() == [float(k) for k in range(80)]
    assert pixels.shape == (80, 224, 224, 3)
    seek_t, seek_px = decode_all(path, Sampling(count=8), Resize(32, 32), strategy="seek")
    seq_t, seq_px = decode_all(path, Sampling(count=8), Resize(32, 32), strategy="sequential")
    np.testing.assert_array_equal(seek_t, seq_t)
    np.testing.assert_array_equal(seek_px, seq_px)


def test_tree_avi(media_dir):
    """tree.avi: 444 AVI chunks at 15 fps, 376 of them empty ("repeat the last frame").

    So 68 decodable frames are spread over the stated 29.6 s by their pts: the header is
    right about the duration, and 1 fps gives 30 distinct candidates, not 68 / 15 ~ 5.
    """
    path = media_dir / "tree.avi"
    info = probe(path)
    assert info.codec == "cinepak"
    assert (info.width, info.height, info.frame_count) == (320, 240, 444)
    assert info.duration == pytest.approx(29.6, abs=1e-3)
    times, _ = decode_all(path, Sampling(fps=1))
    assert len(times) == 30 and times[0] == 0.0 and times[-1] < 29.6
    assert np.all(np.diff(times) > 0)
    every, _ = decode_all(path, Sampling(fps=15))  # as fast as the nominal rate
    assert len(every) == 68  # each real frame once


def test_truncated_real_video(media_dir, tmp_path):
    data = (media_dir / "vtest.avi").read_bytes()
    half = tmp_path / "half.avi"
    half.write_bytes(data[: len(data) // 2])
    times, _ = decode_all(half, Sampling(fps=1))
    assert times.tolist() == [float(k) for k in range(41)]  # frames end near 40.0 s
    stub = tmp_path / "stub.avi"
    stub.write_bytes(data[:2000])
    with pytest.raises(VideoDecodeError, match=r"stub\.avi"):
        probe(stub)
    with pytest.raises(VideoDecodeError):
        decode_frames(stub, Sampling(), SMALL)


# --------------------------------------------------------------------------- claimed duration


def test_truncated_file_drops_targets_past_the_real_end(cfr_video, tmp_path, caplog):
    full = make_indexed_video(tmp_path / "full.mkv", 100, fps=10)
    data = full.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    assert probe(cut).duration == pytest.approx(10.0)  # the header still claims 10 s
    with caplog.at_level(logging.WARNING, logger="framesift.decode"):
        times, pixels = decode_all(cut, Sampling(fps=1))
    assert 0 < len(times) < 10
    assert read_indices(pixels) == [round(t * 10) for t in times]
    (warning,) = [r.getMessage() for r in caplog.records]  # one line, how much was there
    decodable = float(
        re.search(r"only ([\d.]+) s of its stated 10\.0 s could be decoded", warning)[1]
    )
    assert times[-1] < decodable < times[-1] + 1
    assert "cut.mkv" in warning and "\n" not in warning
    batches = decode_frames(cut, Sampling(start=9.5), SMALL)  # inside the claim, after the data
    with pytest.raises(InputError, match="last decodable frame"):
        list(batches)


def test_a_complete_file_is_not_called_truncated(cfr_video, caplog):
    with caplog.at_level(logging.WARNING, logger="framesift.decode"):
        decode_all(cfr_video, Sampling(fps=1))
    assert not caplog.records


def test_a_file_cut_to_30_percent_says_so(tmp_path, caplog):
    """Index at the front (as phones and web videos write MP4): the header claims it all."""
    path = make_indexed_video(tmp_path / "front.mkv", 200, fps=10)  # Matroska: header first
    cut = tmp_path / "cut30.mkv"
    cut.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.3)])
    with caplog.at_level(logging.WARNING, logger="framesift.decode"):
        times, _ = decode_all(cut, Sampling(fps=1))
    assert times[-1] < 8
    assert "of its stated 20.0 s could be decoded" in caplog.records[0].getMessage()


# --------------------------------------------------------------------------- cheapest exact way


@pytest.mark.parametrize("sampling", [Sampling(fps=1e9), Sampling(count=10**9)], ids=str)
def test_sampling_faster_than_the_stream_gives_each_frame_once(cfr_video, sampling):
    """Capped by the stream's own frames: searched, not enumerated, so this is quick."""
    times, pixels = decode_all(cfr_video, sampling)
    assert read_indices(pixels) == list(range(100))
    np.testing.assert_allclose(times, np.arange(100) / 10, atol=1e-9)


def test_unneeded_non_reference_frames_are_not_decoded(strategy_videos, monkeypatch):
    """H.264 with B-frames at 1 fps of 10: most non-reference frames are skipped, and the
    frames returned are still exactly the ones on screen at the targets."""
    decoded = []
    real = reader.decoded_frames

    def counting(src):
        for item in real(src):
            decoded.append(item[0])
            yield item

    monkeypatch.setattr(reader, "decoded_frames", counting)
    _, pixels = decode_all(strategy_videos["h264-mp4"], Sampling(fps=1), strategy="sequential")
    assert read_indices(pixels) == list(range(0, 200, 10))
    assert len(decoded) < 160  # of 200 frames
    decoded.clear()
    decode_all(strategy_videos["h264-mp4"], Sampling(fps=10), strategy="sequential")
    assert len(decoded) == 200  # every frame is a candidate: none skipped


def test_several_sizes_from_one_decode(cfr_video):
    sizes = [SMALL, Resize(32, 32, crop=True), SMALL]  # a repeated size is decoded once
    batches = list(decode_frames(cfr_video, Sampling(fps=2), sizes, batch_size=8))
    for size in set(sizes):
        alone = decode_all(cfr_video, Sampling(fps=2), size)[1]
        np.testing.assert_array_equal(np.concatenate([b.at(size) for b in batches]), alone)
    assert all(len(b.views) == 2 for b in batches)
    np.testing.assert_array_equal(batches[0].pixels, batches[0].at(SMALL))
    with pytest.raises(KeyError, match="not decoded at"):
        batches[0].at(Resize(8, 8))


@pytest.mark.parametrize("video", ["h264-mp4", "h264-mkv", "mpeg4-avi"])
@pytest.mark.parametrize("sampling", [Sampling(fps=1), Sampling(fps=3.3, start=2.05)], ids=str)
def test_worker_processes_give_the_same_frames(strategy_videos, monkeypatch, video, sampling):
    monkeypatch.setattr(workers, "CHUNK_SECONDS", 3.0)  # a 20 s video in 7 stretches
    monkeypatch.setattr(workers, "PARALLEL_MIN_SECONDS", 1.0)
    path = strategy_videos[video]
    alone = decode_all(path, sampling, workers=1)
    shared = decode_all(path, sampling, workers=2)
    np.testing.assert_array_equal(alone[0], shared[0])
    np.testing.assert_array_equal(alone[1], shared[1])


def test_worker_processes_on_a_truncated_file(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(workers, "CHUNK_SECONDS", 3.0)
    monkeypatch.setattr(workers, "PARALLEL_MIN_SECONDS", 1.0)
    full = make_indexed_video(tmp_path / "full.mkv", 200, fps=10, gop=10)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with caplog.at_level(logging.WARNING, logger="framesift.decode"):
        shared = decode_all(cut, Sampling(fps=1), workers=2)
    assert len(caplog.records) == 1 and "could be decoded" in caplog.records[0].getMessage()
    np.testing.assert_array_equal(shared[0], decode_all(cut, Sampling(fps=1), workers=1)[0])
    with pytest.raises(InputError, match="no frames in the sampling window"):
        decode_all(cut, Sampling(fps=1, start=19), workers=2)


def test_workers_are_used_for_long_seekable_windows_only(cfr_video, monkeypatch):
    info = probe(cfr_video)
    assert workers.worker_count(info, Sampling(fps=1), 4) == 1  # 10 s: not worth a process
    monkeypatch.setattr(workers, "PARALLEL_MIN_SECONDS", 5.0)
    monkeypatch.setattr(workers, "CHUNK_SECONDS", 4.0)
    assert workers.worker_count(info, Sampling(fps=1), 4) == 3  # one per 4 s stretch
    assert workers.worker_count(info, Sampling(fps=1), 1) == 1
    raw = make_indexed_video(Path(cfr_video).with_suffix(".h264"), 60, fps=10)
    assert workers.worker_count(probe(raw), Sampling(fps=1), 4) == 1  # cannot seek


# --------------------------------------------------------------------------- errors


def test_missing_file(tmp_path):
    with pytest.raises(VideoNotFoundError, match=r"nope\.mp4"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(VideoNotFoundError):
        decode_frames(tmp_path / "nope.mp4", Sampling(), SMALL)
    with pytest.raises(VideoNotFoundError, match="not a file"):
        probe(tmp_path)


def test_text_file_renamed_mp4(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(VideoDecodeError, match="not a media file"):
        probe(path)
    with pytest.raises(VideoDecodeError):
        decode_frames(path, Sampling(), SMALL)


@pytest.mark.parametrize("name", ["tone.wav", "tone.mp3"])
def test_audio_only_file(tmp_path, name):
    path = make_audio(tmp_path / name)
    with pytest.raises(VideoDecodeError, match="no video stream"):
        probe(path)
    with pytest.raises(VideoDecodeError, match="no video stream"):
        decode_frames(path, Sampling(), SMALL)


def test_truncated_mp4(cfr_video, tmp_path):
    data = Path(cfr_video).read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])  # the MP4 index (moov) is at the end: lost
    with pytest.raises(VideoDecodeError):
        decode_frames(path, Sampling(), SMALL)


def test_zero_decodable_frames(tmp_path):
    path = tmp_path / "empty.avi"
    container = av.open(str(path), "w")
    stream = container.add_stream("mpeg4", rate=10)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    container.start_encoding()
    container.close()
    with pytest.raises(VideoDecodeError, match="no decodable frames"):
        probe(path)
    with pytest.raises(VideoDecodeError, match="no decodable frames"):
        decode_frames(path, Sampling(), SMALL)


def test_window_outside_video(cfr_video):
    with pytest.raises(InputError, match="window"):
        decode_frames(cfr_video, Sampling(start=10), SMALL)
    with pytest.raises(InputError):
        decode_frames(cfr_video, Sampling(count=3, start=12, end=20), SMALL)
    # partly outside is fine: the window is cut at the end of the video
    times, _ = decode_all(cfr_video, Sampling(fps=1, start=8, end=30))
    assert times.tolist() == [8.0, 9.0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fps": 0},
        {"fps": -1},
        {"fps": math.nan},
        {"fps": None},
        {"count": 0},
        {"count": 2.5},
        {"start": -1},
        {"end": -1},
        {"start": 5, "end": 5},
        {"start": 6, "end": 5},
    ],
)
def test_bad_sampling(kwargs):
    with pytest.raises(InputError):
        Sampling(**kwargs)


def test_bad_arguments(cfr_video):
    for kwargs in ({"width": 0, "height": 10}, {"width": 10, "height": -3}):
        with pytest.raises(InputError):
            Resize(**kwargs)
    with pytest.raises(InputError, match="strategy"):
        decode_frames(cfr_video, Sampling(), SMALL, strategy="fast")
    with pytest.raises(InputError, match="batch_size"):
        decode_frames(cfr_video, Sampling(), SMALL, batch_size=0)


def test_no_raw_pyav_exception_escapes(tmp_path):
    bad = tmp_path / "garbage.mkv"
    bad.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 8)  # EBML magic, then noise
    with pytest.raises(VideoDecodeError) as info:
        list(decode_frames(bad, Sampling(), SMALL))
    assert not isinstance(info.value, av.error.FFmpegError)


# --------------------------------------------------------------------------- Sampling


def test_sampling_count_ignores_fps_and_serialises():
    s = Sampling(fps=2, count=8, start=1, end=9)
    assert s.fps is None and s == Sampling(count=8, start=1, end=9)
    d = s.to_dict()
    assert json.loads(json.dumps(d)) == d == {"fps": None, "count": 8, "start": 1.0, "end": 9.0}
    assert Sampling(**d) == s
    assert Sampling().to_dict() == {"fps": 1.0, "count": None, "start": None, "end": None}


def test_index_frame_round_trip():
    assert read_indices(np.stack([index_frame(k) for k in (0, 1, 77, 255)])) == [0, 1, 77, 255]
