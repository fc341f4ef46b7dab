"""One cache folder for every per-video artefact: atomic writes, a commit marker, one lock.

Layout: ``root/<kind>/<key[:2]>/<key>.<suffix>`` is an entry's data (``kind``: features,
patches), ``<key>.json`` its sidecar and ``<key>.lock`` the lock its builders take.

Writing: the data goes to a temporary file named after its writer
(``.<name>.<pid>-<start>-<random>.tmp``), is fsynced and renamed into place; then the
sidecar (metadata plus the data's size and BLAKE2b digest), the same way and last: an entry
exists once its sidecar does (the commit marker), and the folder is fsynced after each
rename. A writer killed mid-way leaves only temporary files; the next writer in that folder
removes those whose process is gone (its pid no longer runs, or runs since another start
time: pids are reused).

Builders of an entry hold its lock (``fcntl.flock``, which the kernel releases when a
process dies, however it dies): a second process asking for an entry being built waits for
it, then reads it, so concurrent asks build each entry once.

Reading: the sidecar must parse and the data must have the recorded size and digest. The
digest is read once per process and data file version (a 10,000-frame patch file is
hundreds of MB, and every question opens it). A damaged entry is removed with a one-line
warning and built again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framesift.errors import InputError

log = logging.getLogger(__name__)

FORMAT = 2  # bump when an entry's layout changes; it is part of every key

_verified: set[tuple[str, int, int, int]] = set()  # data files whose digest checked out
_verified_lock = threading.Lock()


class Cache:
    """A cache folder (created if missing). Fails at once, with an ``InputError``, when
    ``root`` is a file or cannot be written. ``full_hash``: identify videos by their whole
    content instead of a sampled fingerprint (see ``framesift.cache.fingerprints``)."""

    def __init__(self, root: str | os.PathLike, *, full_hash: bool = False) -> None:
        self.root = Path(root)
        self.full_hash = full_hash
        self.temporary = False  # a scratch cache: no later process will look for copies
        try:
            if self.root.exists() and not self.root.is_dir():
                raise InputError(
                    f"cache folder {self.root} is a file; point --cache-dir (or "
                    "$FRAMESIFT_CACHE) at a folder"
                )
            self.root.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=self.root).close()
        except OSError as e:
            raise InputError(
                f"cannot write to the cache folder {self.root} ({e.strerror or e}); choose a "
                "writable folder with --cache-dir or $FRAMESIFT_CACHE, or use --no-cache"
            ) from e

    @classmethod
    @contextmanager
    def scratch(cls) -> Iterator[Cache]:
        """A cache in a new temporary folder, deleted on exit (for ``--no-cache`` runs that
        still need files, e.g. patch tokens; a ``PatchStore`` opened inside stays readable
        after the folder is gone, until it is closed)."""
        root = tempfile.mkdtemp(prefix="framesift-scratch-")
        try:
            cache = cls(root)
            cache.temporary = True
            yield cache
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def entry(self, kind: str, key: str, suffix: str) -> Entry:
        return Entry(kind, key, self.root / kind / key[:2] / f"{key}.{suffix}")

    def __repr__(self) -> str:
        return f"Cache({str(self.root)!r})"


@dataclass(frozen=True)
class Entry:
    """One artefact's files: ``data``, its sidecar (``.json``) and its lock (``.lock``)."""

    kind: str
    key: str
    data: Path

    @property
    def sidecar(self) -> Path:
        return self.data.with_suffix(".json")

    def read(self) -> dict[str, Any] | None:
        """The sidecar of the committed entry, its data checked; None when there is none.
        A damaged entry is removed (with a warning) and reported as absent."""
        meta, problem = self._inspect()
        if problem is None:
            return meta
        with self.lock():  # a builder may have been replacing it: look again once it is done
            return self.read_locked()

    def read_locked(self) -> dict[str, Any] | None:
        """``read`` for a caller that holds the lock."""
        meta, problem = self._inspect()
        if problem is not None:
            log.warning(
                "framesift cache: %s entry %s is damaged (%s); rebuilding it",
                self.kind,
                self.key,
                problem,
            )
            self.remove()
        return meta if problem is None else None

    def committed(self) -> dict[str, Any] | None:
        """The sidecar if the entry looks complete (data of the recorded size), without
        reading the data: a cheap check."""
        try:
            meta = json.loads(self.sidecar.read_text())
            return meta if self.data.stat().st_size == meta["bytes"] else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _inspect(self) -> tuple[dict[str, Any] | None, str | None]:
        try:
            meta = json.loads(self.sidecar.read_text())
        except FileNotFoundError:
            return None, None
        except (OSError, ValueError) as e:
            return None, f"unreadable sidecar: {e}"
        try:
            _check_data(self.data, meta)
        except (OSError, ValueError, KeyError, TypeError) as e:
            return None, str(e)
        return meta, None

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Held while the entry is built (by any thread or process); waits for a holder."""
        self.data.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def writer(self) -> EntryWriter:
        """A writer for the entry's data (the caller holds the lock)."""
        return EntryWriter(self)

    def remove(self) -> None:
        self.sidecar.unlink(missing_ok=True)  # uncommit first
        self.data.unlink(missing_ok=True)


def _check_data(data: Path, meta: dict[str, Any]) -> None:
    st = data.stat()
    if st.st_size != meta["bytes"]:
        raise ValueError(f"data is {st.st_size} bytes, the sidecar says {meta['bytes']}")
    version = (str(data), st.st_size, st.st_mtime_ns, st.st_ino)
    with _verified_lock:
        if version in _verified:
            return
    digest = hashlib.blake2b()
    with open(data, "rb") as f:
        while chunk := f.read(1 << 24):  # streamed: memory stays 16 MB
            digest.update(chunk)
    if digest.hexdigest() != meta["digest"]:
        raise ValueError("digest mismatch")
    with _verified_lock:
        _verified.add(version)


class EntryWriter:
    """Streams an entry's data to a temporary file; ``commit`` publishes it with its sidecar."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        remove_dead_writers(entry.data.parent)
        self.tmp = _temporary(entry.data)
        self.file = open(self.tmp, "wb")  # noqa: SIM115 (closed by commit or discard)
        self.digest = hashlib.blake2b()
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        self.file.write(data)
        self.digest.update(data)
        self.size += memoryview(data).nbytes

    def commit(self, meta: dict[str, Any]) -> dict[str, Any]:
        """Data, then sidecar (the commit marker), each fsynced and renamed into place."""
        entry = self.entry
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        entry.sidecar.unlink(missing_ok=True)  # a stale entry stops existing before it changes
        os.replace(self.tmp, entry.data)
        _fsync_folder(entry.data.parent)
        sidecar = {**meta, "format": FORMAT, "bytes": self.size, "digest": self.digest.hexdigest()}
        _atomic_write(entry.sidecar, json.dumps(sidecar, default=str).encode())
        st = entry.data.stat()
        with _verified_lock:  # written and fsynced by us: no need to read it back
            _verified.add((str(entry.data), st.st_size, st.st_mtime_ns, st.st_ino))
        return sidecar

    def discard(self) -> None:
        self.file.close()
        self.tmp.unlink(missing_ok=True)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = _temporary(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temporary(path: Path) -> Path:
    """``.<name>.<pid>-<start>-<random>.tmp`` beside ``path``: says which process wrote it."""
    pid = os.getpid()
    return path.with_name(f".{path.name}.{pid}-{_started(pid)}-{secrets.token_hex(4)}.tmp")


def _started(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, from /proc), "0" if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]  # field 22; the name may hold spaces
    except (OSError, IndexError):
        return "0"


def _running(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process, running
    return started == "0" or _started(pid) == started


def remove_dead_writers(folder: Path) -> None:
    """Delete the temporary files in ``folder`` whose writing process is gone."""
    for tmp in folder.glob(".*.tmp"):
        try:
            pid, started, _ = tmp.name.rsplit(".", 2)[1].split("-")
            dead = not _running(int(pid), started)
        except ValueError:
            continue  # not one of ours
        if dead:
            tmp.unlink(missing_ok=True)
