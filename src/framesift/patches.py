"""Per-frame patch tokens of a whole video, on disk, read back a few rows at a time.

Merging (compress stage) needs every candidate frame's patch tokens, far more than fits in
memory for long videos (10,000 frames x 196 tokens x 896 dims is 3.5 GB at float16). So the
tokens stream from decoder through the patch encoder into a raw file, and are read back with
positioned reads of the rows a chunk needs: memory stays one chunk, whatever the length. The
file depends on the video, the sampling and the patch encoder, never on the question, so it
is built once per video (like the feature cache, and keyed the same way); a JSON sidecar
with the file's digest is written last, and an entry that does not check out is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from framesift.encode.base import PatchEncoder
from framesift.cache import FeatureCache, fingerprint
from framesift.decode import Sampling, decode_frames
from framesift.errors import VideoDecodeError

log = logging.getLogger(__name__)

_DTYPE = np.dtype(np.float16)  # halves disk and reads; cosine weights are insensitive to it


class PatchStore:
    """(N, P, D) float16 patch tokens in a file, indexable like an array by rows."""

    def __init__(self, path: Path, shape: tuple[int, int, int], times: np.ndarray):
        self.path, self.shape, self.times = path, shape, times
        self._row_bytes = shape[1] * shape[2] * _DTYPE.itemsize
        self._fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: slice | np.ndarray) -> np.ndarray:
        """Rows as float32: a contiguous slice is one read, an index array one read per row."""
        if isinstance(rows, slice):
            start, stop, _ = rows.indices(len(self))
            return self._read(start, max(stop - start, 0))
        return np.concatenate([self._read(int(i), 1) for i in np.atleast_1d(rows)])

    def _read(self, start: int, count: int) -> np.ndarray:
        data = os.pread(self._fd, count * self._row_bytes, start * self._row_bytes)
        rows = np.frombuffer(data, _DTYPE).reshape(count, *self.shape[1:])
        return rows.astype(np.float32)  # (count, P, D)

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> PatchStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def patch_store(
    video: str | os.PathLike,
    sampling: Sampling,
    encoder: PatchEncoder,
    root: Path,
    *,
    batch_size: int = 16,
) -> tuple[PatchStore, bool]:
    """The video's patch tokens (built now unless a valid entry exists), and whether cached."""
    key = FeatureCache.key(
        video=fingerprint(video),
        sampling=sampling.to_dict(),
        patch_encoder=encoder.name,
        resize=encoder.resize,
    )
    data, meta = root / key[:2] / f"{key}.patches", root / key[:2] / f"{key}.json"
    store = _open_valid(data, meta)
    if store is not None:
        return store, True
    data.parent.mkdir(parents=True, exist_ok=True)
    tmp = data.with_suffix(f".{os.getpid()}.tmp")
    digest, times, shape = hashlib.blake2b(), [], None
    try:
        with open(tmp, "wb") as f:
            for batch_times, tokens in _encoded(video, sampling, encoder, batch_size):
                rows = np.ascontiguousarray(tokens, dtype=_DTYPE)  # (B, P, D)
                shape = rows.shape[1:]
                f.write(rows.data)
                digest.update(rows.data)
                times.extend(batch_times.tolist())
            f.flush()
            os.fsync(f.fileno())
        if shape is None:
            raise VideoDecodeError(f"{video}: no frames could be decoded in the requested window")
        os.replace(tmp, data)
    finally:
        tmp.unlink(missing_ok=True)
    sidecar = {
        "shape": [len(times), *shape],
        "times": times,
        "digest": digest.hexdigest(),
        "patch_encoder": encoder.name,
        "video": os.path.abspath(video),
    }
    tmp_meta = meta.with_suffix(f".{os.getpid()}.tmp")
    tmp_meta.write_text(json.dumps(sidecar))
    os.replace(tmp_meta, meta)
    return PatchStore(data, (len(times), *shape), np.array(times)), False


def _encoded(
    video: str | os.PathLike, sampling: Sampling, encoder: PatchEncoder, batch_size: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for batch in decode_frames(video, sampling, encoder.resize, batch_size=batch_size):
        yield batch.times, np.asarray(encoder.encode_patches(batch.pixels))


_verified: set[tuple[str, int, int, int]] = set()  # files whose digest checked out, as stat'd


def _open_valid(data: Path, meta: Path) -> PatchStore | None:
    """The entry if it checks out. The digest is read once per process and file version: a
    10,000-frame file is hundreds of MB, and every question on the video opens it."""
    if not meta.exists():
        return None
    try:
        sidecar = json.loads(meta.read_text())
        shape = tuple(sidecar["shape"])
        st = data.stat()
        if st.st_size != int(np.prod(shape)) * _DTYPE.itemsize:
            raise ValueError("size mismatch")
        identity = (str(data), st.st_size, st.st_mtime_ns, st.st_ino)
        if identity not in _verified:
            digest = hashlib.blake2b()
            with open(data, "rb") as f:
                while chunk := f.read(1 << 24):  # streamed: memory stays 16 MB
                    digest.update(chunk)
            if digest.hexdigest() != sidecar["digest"]:
                raise ValueError("digest mismatch")
            _verified.add(identity)
        return PatchStore(data, shape, np.array(sidecar["times"], dtype=np.float64))
    except Exception as exc:  # any damage means: do not trust, rebuild
        log.warning("framesift patch cache %s is damaged (%s); rebuilding it", data.name, exc)
        data.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
        return None
