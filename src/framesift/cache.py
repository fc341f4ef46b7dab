"""Per-video feature cache.

Frame features depend on the video's content, the sampling and the encoder, never on the
question, so they are computed once and every later question on the video reuses them. An
entry is a safetensors file plus a JSON sidecar holding the metadata and the tensor file's
digest; the sidecar is written last (the commit marker) and both are written atomically. An
entry that fails to parse, has the wrong shapes or a digest mismatch is deleted and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

_FORMAT = 1  # bump when the entry layout changes; old entries then miss


@dataclass
class VideoFeatures:
    """Candidate frames of one video as an encoder sees them.

    ``times``: (N,) float64 seconds; ``embeddings``: (N, D) float32 unit norm;
    ``patches``: (N, P, D') float16 or None.
    """

    times: np.ndarray
    embeddings: np.ndarray
    patches: np.ndarray | None = None


def default_cache_dir() -> Path:
    """``$FRAMESIFT_CACHE`` if set, else the platform's user cache folder."""
    import platformdirs

    return Path(os.environ.get("FRAMESIFT_CACHE") or platformdirs.user_cache_dir("framesift"))


def fingerprint(path: str | os.PathLike) -> str:
    """BLAKE2b of the file's bytes: a renamed or touched copy hits, an edited file misses."""
    st = os.stat(path)
    return _fingerprint(os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino)


@lru_cache(maxsize=256)
def _fingerprint(path: str, size: int, mtime_ns: int, inode: int) -> str:
    # (size, mtime, inode) only memoise within this process; the key is the content digest.
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "blake2b").hexdigest()[:32]


class FeatureCache:
    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_cache_dir() / "features"

    @staticmethod
    def key(**identity: Any) -> str:
        """Digest of the entry's identity (fingerprint, sampling, encoder, resize...)."""
        canonical = json.dumps({"format": _FORMAT, **identity}, sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:40]

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.safetensors", folder / f"{key}.json"

    def load(self, key: str) -> VideoFeatures | None:
        """The entry, or None when absent; a damaged entry is removed and reported as absent."""
        tensors_path, meta_path = self._paths(key)
        if not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            data = tensors_path.read_bytes()
            if hashlib.blake2b(data).hexdigest() != meta["digest"]:
                raise ValueError("digest mismatch")
            from safetensors.numpy import load

            tensors = load(data)
            features = VideoFeatures(
                times=tensors["times"],
                embeddings=tensors["embeddings"],
                patches=tensors.get("patches"),
            )
            if len(features.times) != meta["frames"] or len(features.embeddings) != meta["frames"]:
                raise ValueError("frame count mismatch")
            return features
        except Exception as exc:  # any damage means: do not trust, rebuild
            log.warning("framesift cache entry %s is damaged (%s); rebuilding it", key, exc)
            self.remove(key)
            return None

    def save(self, key: str, features: VideoFeatures, meta: dict[str, Any]) -> None:
        from safetensors.numpy import save

        tensors = {"times": features.times, "embeddings": features.embeddings}
        if features.patches is not None:
            tensors["patches"] = features.patches
        data = save({k: np.ascontiguousarray(v) for k, v in tensors.items()})
        sidecar = {
            **meta,
            "frames": len(features.times),
            "digest": hashlib.blake2b(data).hexdigest(),
            "format": _FORMAT,
        }
        tensors_path, meta_path = self._paths(key)
        tensors_path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(tensors_path, data)
        _atomic_write(meta_path, json.dumps(sidecar, indent=1, default=str).encode())

    def remove(self, key: str) -> None:
        for path in self._paths(key):
            path.unlink(missing_ok=True)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
