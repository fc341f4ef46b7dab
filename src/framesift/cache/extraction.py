"""Decode + encode one video into its per-video artefacts, through the cache.

This is the expensive, question-independent half of the pipeline. ``extract`` returns what
it is asked for (frame features, patch tokens or both), read from valid cache entries where
they exist; the missing ones are built in ONE decode pass (frames decoded once, resized for
each consumer). Decoding runs ahead of encoding in a thread that fills a bounded queue
(``QUEUE_BATCHES`` batches), so a first ask costs about max(decode, encode), not their sum,
and memory holds a few batches of pixels however long the video is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import numpy as np

from framesift.cache.changes import THUMBNAIL, ChangeDetector, expand
from framesift.cache.fingerprints import Fingerprint, content_digest, fingerprint
from framesift.cache.patches import DTYPE, PatchStore
from framesift.cache.store import FORMAT, Cache, Entry, EntryWriter
from framesift.decode import FrameBatch, Resize, Sampling, decode_frames, probe
from framesift.decode.source import check_path
from framesift.encode import Encoder, PatchEncoder
from framesift.errors import InputError

log = logging.getLogger(__name__)

BATCH_SIZE = 32
QUEUE_BATCHES = 4  # decoded batches waiting for the encoder, at most
# Decoding processes for long windows (None: ``decode_frames`` chooses, one per core). With
# the encoder running meanwhile they still pay: on 2 otherwise idle cores, 10 minutes at
# 1 fps took 12.2 s with two decoding processes beside a 2-thread ONNX Runtime encoder, 15.7 s
# decoding in one thread (benchmarks/first_ask.py). On a machine loaded by other jobs the
# thread did better, as fewer runnable threads then lose less to the encoder's.
DECODE_WORKERS: int | None = None

Progress = bool | Callable[[int, int | None], None]


@dataclass
class VideoFeatures:
    """Candidate frames of one video as an encoder sees them.

    ``times``: (N,) float64 seconds; ``embeddings``: (N, D) float32 unit norm.
    """

    times: np.ndarray
    embeddings: np.ndarray


@dataclass
class Extraction:
    """What ``extract`` returns. ``features``: None unless asked for; ``patches``: None unless
    a patch encoder was given (close it when done). ``cached``: everything asked for came from
    the cache. ``decode_s``/``encode_s``: time spent decoding (in the decoding thread) and
    encoding; with the overlap, the wall time is about the larger of the two. ``reused``:
    frames that repeated their predecessor and reused its embedding (``reuse_threshold``)."""

    features: VideoFeatures | None
    patches: PatchStore | None
    cached: bool
    decode_s: float = 0.0
    encode_s: float = 0.0
    reused: int = 0


def extract(
    video: str | os.PathLike,
    sampling: Sampling,
    encoder: Encoder | None,
    cache: Cache | None,
    *,
    patch_encoder: PatchEncoder | None = None,
    with_features: bool = True,
    progress: Progress = False,
    reuse_threshold: float | None = None,
) -> Extraction:
    """The candidate frames of ``video`` under ``sampling``, encoded, through ``cache``.

    ``encoder``'s features (times (N,), embeddings (N, D)) unless ``with_features`` is
    False; with ``patch_encoder``, its per-frame tokens as a ``PatchStore`` too (with
    ``cache=None`` they go to a temporary file that disappears once the store is closed).
    A patch encoder whose ``encoder`` attribute is ``encoder`` itself (the encoder's own
    patch embeddings) shares its forward pass with the features.

    ``progress``: True for a progress bar; a callable gets (frames done, expected total or
    None) after every batch, e.g. for a server reporting indexing. ``reuse_threshold``: frames
    whose thumbnail repeats the last encoded frame's (``framesift.cache.changes``) reuse its
    embedding and tokens instead of being encoded; every frame keeps its own time. Off
    (None) by default: it changes the features, so it is part of the cache key.

    Raises ``VideoNotFoundError``, ``VideoDecodeError`` or ``InputError`` for a bad video or
    window, before any entry is written.
    """
    path = check_path(video)
    if not with_features and patch_encoder is None:
        raise InputError("nothing to extract: ask for features, patch tokens or both")
    if with_features and encoder is None:
        raise InputError("extracting features needs an encoder")
    if cache is None:
        with Cache.scratch() as scratch:
            return extract(
                path,
                sampling,
                encoder,
                scratch,
                patch_encoder=patch_encoder,
                with_features=with_features,
                progress=progress,
                reuse_threshold=reuse_threshold,
            )
    identity = fingerprint(path)
    artefacts = _artefacts(
        cache,
        identity,
        sampling,
        encoder if with_features else None,
        patch_encoder,
        reuse_threshold,
    )
    found = {a.kind: a.load(a.entry.read(), identity) for a in artefacts}
    if all(v is not None for v in found.values()):
        return _extraction(found, cached=True)
    with ExitStack() as stack:
        missing = []
        for artefact in artefacts:  # always in one order: two builders cannot deadlock
            if found[artefact.kind] is None:
                stack.enter_context(artefact.entry.lock())
                again = artefact.load(artefact.entry.read_locked(), identity)  # built meanwhile?
                found[artefact.kind] = again
                if again is None:
                    missing.append(artefact)
        if not missing:
            return _extraction(found, cached=True)
        built = _build(path, identity, sampling, missing, progress, reuse_threshold, cache)
    found.update(built.artefacts)
    return _extraction(found, cached=False, build=built)


def is_cached(
    video: str | os.PathLike,
    sampling: Sampling,
    encoder: Encoder | None,
    cache: Cache | None,
    *,
    patch_encoder: PatchEncoder | None = None,
    with_features: bool = True,
    reuse_threshold: float | None = None,
) -> bool:
    """Whether ``extract`` with these arguments would read everything from the cache.

    Cheap: no decoding, and entries are checked for completeness, not read (a damaged one
    is found, and rebuilt, by ``extract``). A file whose modification time differs from the
    entry's is hashed in full to compare contents.
    """
    if cache is None:
        return False
    identity = fingerprint(check_path(video))
    artefacts = _artefacts(
        cache,
        identity,
        sampling,
        encoder if with_features else None,
        patch_encoder,
        reuse_threshold,
    )
    return bool(artefacts) and all(
        _same_source(a.entry.committed(), identity, cache) for a in artefacts
    )


# ---------------------------------------------------------------------------- artefacts


def _key(**identity: Any) -> str:
    canonical = json.dumps({"format": FORMAT, **identity}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:40]


@dataclass
class _Artefact:
    """One entry to read or build: the features of ``encoder`` or the tokens of
    ``patch_encoder``."""

    kind: str  # "features" | "patches"
    entry: Entry
    cache: Cache
    encoder: Encoder | None = None
    patch_encoder: PatchEncoder | None = None

    @property
    def resize(self) -> Resize:
        if self.encoder is not None:
            return self.encoder.info.resize
        return self.patch_encoder.resize  # type: ignore[union-attr]

    def load(self, meta: dict[str, Any] | None, identity: Fingerprint) -> Any:
        """The artefact from a checked entry's sidecar, or None (absent, or from another
        version of the file)."""
        if meta is None:
            return None
        if not _same_source(meta, identity, self.cache):
            log.info("framesift cache: %s changed since it was cached; rebuilding", identity.path)
            return None
        if self.kind == "patches":
            return PatchStore(self.entry.data, tuple(meta["shape"]), np.array(meta["times"]))
        from safetensors.numpy import load

        tensors = load(self.entry.data.read_bytes())
        return VideoFeatures(tensors["times"], tensors["embeddings"])


def _artefacts(
    cache: Cache,
    identity: Fingerprint,
    sampling: Sampling,
    encoder: Encoder | None,
    patch_encoder: PatchEncoder | None,
    reuse_threshold: float | None,
) -> list[_Artefact]:
    video = content_digest(identity) if cache.full_hash else identity.sample
    reuse = None if reuse_threshold is None else float(reuse_threshold)  # 4 and 4.0: one entry
    common = {"video": video, "sampling": sampling.to_dict(), "reuse": reuse}
    artefacts = []
    if encoder is not None:
        key = _key(**common, encoder=encoder.info.name, resize=encoder.info.resize)
        artefacts.append(
            _Artefact("features", cache.entry("features", key, "safetensors"), cache, encoder)
        )
    if patch_encoder is not None:
        key = _key(**common, patch_encoder=patch_encoder.name, resize=patch_encoder.resize)
        entry = cache.entry("patches", key, "patches")
        artefacts.append(_Artefact("patches", entry, cache, patch_encoder=patch_encoder))
    return artefacts


def _same_source(meta: dict[str, Any] | None, identity: Fingerprint, cache: Cache) -> bool:
    """Whether an entry was built from this version of the file: keyed by the content
    itself, or built from a file with this mtime, or (a copy, a touched file) from one whose
    full content digest matches."""
    if meta is None:
        return False
    source = meta.get("source") or {}
    if cache.full_hash or source.get("mtime_ns") == identity.mtime_ns:
        return True
    return source.get("content") is not None and source["content"] == content_digest(identity)


def _extraction(found: dict[str, Any], *, cached: bool, build: _Built | None = None) -> Extraction:
    return Extraction(
        features=found.get("features"),
        patches=found.get("patches"),
        cached=cached,
        decode_s=build.decode_s if build else 0.0,
        encode_s=build.encode_s if build else 0.0,
        reused=build.reused if build else 0,
    )


# ---------------------------------------------------------------------------- building


@dataclass
class _Built:
    artefacts: dict[str, Any]
    decode_s: float
    encode_s: float
    reused: int


class _Encoding:
    """What one artefact makes of each batch: embeddings kept in memory, or token rows
    streamed to the entry's temporary file."""

    def __init__(self, artefact: _Artefact, writer: EntryWriter) -> None:
        self.artefact, self.writer = artefact, writer
        self.times: list[np.ndarray] = []
        self.embeddings: list[np.ndarray] = []
        self.rows_shape: tuple[int, ...] | None = None
        self.last: np.ndarray | None = None  # the previous batch's last frame's output

    def add(self, times: np.ndarray, output: np.ndarray, fresh: np.ndarray | None) -> None:
        """``output``: (F, ...) for the batch's fresh frames (all of them without reuse)."""
        if fresh is not None:
            output = expand(output, fresh, self.last)
        self.last = output[-1]
        self.times.append(times)
        if self.artefact.kind == "features":
            self.embeddings.append(output.astype(np.float32))
        else:
            rows = np.ascontiguousarray(output, dtype=DTYPE)  # (B, P, D)
            self.rows_shape = rows.shape[1:]
            self.writer.write(rows.data)

    def commit(self, source: dict[str, Any], meta: dict[str, Any]) -> Any:
        times = np.concatenate(self.times).astype(np.float64)
        artefact = self.artefact
        if artefact.kind == "features":
            from safetensors.numpy import save

            embeddings = np.ascontiguousarray(np.concatenate(self.embeddings))
            self.writer.write(save({"times": times, "embeddings": embeddings}))
            self.writer.commit({**meta, "source": source, "frames": len(times)})
            return VideoFeatures(times, embeddings)
        shape = (len(times), *self.rows_shape)  # type: ignore[misc]
        sidecar = {**meta, "source": source, "shape": shape, "times": times.tolist()}
        self.writer.commit({**sidecar, "patch_encoder": artefact.patch_encoder.name})  # type: ignore[union-attr]
        return PatchStore(artefact.entry.data, shape, times)


def _build(
    path: str,
    identity: Fingerprint,
    sampling: Sampling,
    artefacts: list[_Artefact],
    progress: Progress,
    reuse_threshold: float | None,
    cache: Cache,
) -> _Built:
    features = next((a for a in artefacts if a.kind == "features"), None)
    patches = next((a for a in artefacts if a.kind == "patches"), None)
    shared = (  # the encoder's own patches: one forward pass gives both
        features is not None
        and patches is not None
        and getattr(patches.patch_encoder, "encoder", None) is features.encoder
        and patches.resize == features.resize
    )
    sizes = [a.resize for a in artefacts] + ([THUMBNAIL] if reuse_threshold is not None else [])
    batches = decode_frames(  # file errors are raised here, before anything is written
        path, sampling, sizes, batch_size=BATCH_SIZE, workers=DECODE_WORKERS
    )
    digest = _ContentDigest(identity, needed=not (cache.full_hash or cache.temporary))
    detector = ChangeDetector(reuse_threshold) if reuse_threshold is not None else None
    with ExitStack() as stack:
        encodings = []
        for artefact in artefacts:
            writer = artefact.entry.writer()
            stack.callback(writer.discard)  # removes the temporary file if the build fails
            encodings.append(_Encoding(artefact, writer))
        report = _progress(progress, path, sampling)
        stack.callback(report.close)
        encode_s, done, reused = 0.0, 0, 0
        ahead = stack.enter_context(_DecodeAhead(batches))
        for batch in ahead:
            t0 = time.perf_counter()
            fresh = detector.fresh(batch.at(THUMBNAIL)) if detector is not None else None
            pick = slice(None) if fresh is None else fresh
            outputs = _encode(batch, pick, features, patches, shared)
            for encoding in encodings:
                encoding.add(batch.times, outputs[encoding.artefact.kind], fresh)
            encode_s += time.perf_counter() - t0
            done += len(batch.times)
            reused += 0 if fresh is None else int((~fresh).sum())
            report.update(len(batch.times), done)
        meta = {"video": path, "sampling": sampling.to_dict()}
        content = content_digest(identity) if cache.full_hash else digest.result()  # memoised
        source = {"size": identity.size, "mtime_ns": identity.mtime_ns, "content": content}
        built = {e.artefact.kind: e.commit(source, meta) for e in encodings}
        return _Built(built, ahead.busy_s, encode_s, reused)


def _encode(
    batch: FrameBatch,
    pick: slice | np.ndarray,
    features: _Artefact | None,
    patches: _Artefact | None,
    shared: bool,
) -> dict[str, np.ndarray]:
    """Outputs of the picked frames of ``batch`` per artefact kind."""
    out: dict[str, np.ndarray] = {}
    if features is not None:
        encoded = features.encoder.encode_frames(  # type: ignore[union-attr]
            batch.at(features.resize)[pick], with_patches=shared
        )
        out["features"] = encoded.embeddings  # (F, D)
        if shared:
            out["patches"] = encoded.patches  # (F, P, D)
    if patches is not None and not shared:
        pixels = batch.at(patches.resize)[pick]
        out["patches"] = np.asarray(patches.patch_encoder.encode_patches(pixels))  # type: ignore[union-attr]
    return out


class _ContentDigest:
    """The full content digest of the video, hashed in a background thread while the video
    decodes (hashlib releases the GIL), for recognising copies later."""

    def __init__(self, identity: Fingerprint, needed: bool) -> None:
        self.value: str | None = None
        self.thread = None
        if needed:
            self.thread = threading.Thread(target=self._run, args=(identity,), daemon=True)
            self.thread.start()

    def _run(self, identity: Fingerprint) -> None:
        try:
            self.value = content_digest(identity)
        except OSError:  # the file went away meanwhile: copies will not be recognised
            self.value = None

    def result(self) -> str | None:
        if self.thread is not None:
            self.thread.join()
        return self.value


class _DecodeAhead:
    """Iterates ``batches`` in a thread, up to ``QUEUE_BATCHES`` ahead of the consumer;
    errors are raised in the consumer. ``busy_s``: time the thread spent decoding."""

    _DONE = object()

    def __init__(self, batches: Iterator[FrameBatch]) -> None:
        self.batches = batches
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_BATCHES)
        self.stop = threading.Event()
        self.busy_s = 0.0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _DecodeAhead:
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                t0 = time.perf_counter()
                batch = next(self.batches, self._DONE)
                self.busy_s += time.perf_counter() - t0
                if not self._put(batch) or batch is self._DONE:
                    return
        except BaseException as e:  # handed to the consumer, raised there
            self._put(e)
        finally:
            self.batches.close()  # type: ignore[attr-defined]  # stops decoding workers

    def _put(self, item: object) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[FrameBatch]:
        while (item := self.queue.get()) is not self._DONE:
            if isinstance(item, BaseException):
                raise item
            yield item

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


class _ProgressReport:
    def __init__(self, callback: Callable[[int, int | None], None] | None, bar: Any, total):
        self.callback, self.bar, self.total = callback, bar, total

    def update(self, added: int, done: int) -> None:
        if self.bar is not None:
            self.bar.update(added)
        if self.callback is not None:
            self.callback(done, self.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _progress(progress: Progress, path: str, sampling: Sampling) -> _ProgressReport:
    if progress is False or progress is None:
        return _ProgressReport(None, None, None)
    total = expected_frames(path, sampling)
    if callable(progress):
        return _ProgressReport(progress, None, total)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit="frame", desc=f"indexing {os.path.basename(path)}", leave=False)
    return _ProgressReport(None, bar, total)


def expected_frames(path: str | os.PathLike, sampling: Sampling) -> int | None:
    """About how many candidates ``sampling`` gives (for progress only; the decoder decides):
    never more than the stream's frames in the window."""
    if sampling.count is not None:
        return sampling.count
    info = probe(path)
    start, end = sampling.window(info.duration)
    rate = min(sampling.fps, info.fps) if info.fps else sampling.fps  # type: ignore[type-var]
    return max(math.ceil((end - start) * rate - 1e-9), 1)  # type: ignore[operator]
