"""Per-frame patch tokens of a whole video, on disk, read back a few rows at a time.

Merging (compress stage) needs every candidate frame's patch tokens, far more than fits in
memory for long videos (10,000 frames x 196 tokens x 896 dims is 3.5 GB at float16); a
host's vision-tower outputs are larger still. So the tokens stream from the encoder into a
cache entry's raw file (rows of float16) and are read back with positioned reads of the rows
a chunk needs: memory stays one chunk, whatever the length.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

DTYPE = np.dtype(np.float16)  # halves disk and reads; cosine weights are insensitive to it


class PatchStore:
    """(N, P, D) float16 patch tokens in a file, indexable like an array by rows.

    ``times``: (N,) seconds of each row's frame. The file stays readable until ``close``
    even if its folder is deleted meanwhile (a scratch cache).
    """

    def __init__(self, path: Path, shape: tuple[int, int, int], times: np.ndarray):
        self.path, self.shape, self.times = path, tuple(shape), np.asarray(times, np.float64)
        self._row_bytes = self.shape[1] * self.shape[2] * DTYPE.itemsize
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
        rows = np.frombuffer(data, DTYPE).reshape(count, *self.shape[1:])
        return rows.astype(np.float32)  # (count, P, D)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> PatchStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
