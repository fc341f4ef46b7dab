"""The videos a server may show: files under one media folder, and nothing outside it.

A client names a video by its id (a short digest of its path) or by its path relative to the
media root. Anything that does not resolve to a video file inside the root (``..``, absolute
paths, hidden files, symlinks leading out, other file types) is "not found", so a client
cannot learn whether a file exists elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from framesift.decode import probe
from framesift.errors import InputError, VideoNotFoundError

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".ogv", ".wmv"}
)


@dataclass(frozen=True)
class Video:
    id: str
    path: str  # relative to the media root, with "/" separators
    file: Path  # absolute, symlinks resolved; always inside the root


class MediaLibrary:
    def __init__(self, root: str | os.PathLike):
        root_path = Path(root).expanduser()
        if not root_path.is_dir():
            raise InputError(f"media folder not found: {root}; pass an existing folder to --media")
        self.root = root_path.resolve()
        self._by_id: dict[str, Video] = {}
        self._durations: dict[tuple[Path, int, int], float] = {}
        self._lock = threading.Lock()

    def videos(self) -> list[Video]:
        """Every video file under the root, sorted by path; hidden folders are skipped."""
        found = []
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                relative = Path(folder, name).relative_to(self.root).as_posix()
                video = self._video(relative)
                if video is not None:
                    found.append(video)
        with self._lock:
            self._by_id = {v.id: v for v in found}
        return found

    def resolve(self, ref: str) -> Video:
        """The video with id ``ref``, else at relative path ``ref``; ``VideoNotFoundError``."""
        with self._lock:
            video = self._by_id.get(ref)
        if video is None and len(ref) == _ID_CHARS:
            video = next((v for v in self.videos() if v.id == ref), None)
        if video is None:
            video = self._video(ref)
        if video is None or not video.file.is_file():
            raise VideoNotFoundError(f"no video {ref!r} in the media folder")
        return video

    def duration(self, video: Video) -> float:
        """Seconds, probed once per file version."""
        stat = video.file.stat()
        key = (video.file, stat.st_size, stat.st_mtime_ns)
        if key not in self._durations:
            self._durations[key] = probe(video.file).duration
        return self._durations[key]

    def _video(self, relative: str) -> Video | None:
        """``relative`` as a video inside the root, or None for anything else."""
        parts = PurePosixPath(relative).parts
        if (
            not parts
            or "\x00" in relative
            or "\\" in relative
            or PurePosixPath(relative).is_absolute()
            or any(p in (".", "..") or p.startswith(".") for p in parts)
        ):
            return None
        try:
            file = (self.root / relative).resolve(strict=True)
        except (OSError, RuntimeError):  # missing, a symlink loop, a name too long
            return None
        if not file.is_relative_to(self.root) or not file.is_file():
            return None
        if file.suffix.lower() not in VIDEO_SUFFIXES:
            return None
        path = PurePosixPath(*parts).as_posix()
        return Video(id=video_id(path), path=path, file=file)


_ID_CHARS = 12


def video_id(path: str) -> str:
    """Stable across restarts and URL-safe: a digest of the path relative to the root."""
    return hashlib.blake2b(path.encode(), digest_size=_ID_CHARS // 2).hexdigest()
