"""Files derived from installed weights, built once per user and reused by every process.

Exported ONNX graphs and precomputed text embeddings live in ``<cache>/models`` (``<cache>`` is
``$FRAMESIFT_CACHE`` or the platform's user cache folder). A file's name carries a digest of
everything its content depends on (the weights' identity, framesift's export recipe, the
inputs), so new weights or a new recipe get a new file and a stale one is never read. A file
is written under a temporary name in the same folder and renamed into place: a killed export
leaves nothing that looks complete, and two processes building the same file both end with a
whole one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from framesift.errors import InputError
from framesift.hub import default_cache_dir


def artefact_path(stem: str, suffix: str, **identity: Any) -> Path:
    """``<cache>/models/<stem>-<digest of identity><suffix>``."""
    canonical = json.dumps(identity, sort_keys=True, default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return default_cache_dir() / "models" / f"{stem}-{digest}{suffix}"


def build_once(path: Path, write: Callable[[Path], None]) -> Path:
    """``path``, after ``write(temporary_path)`` has created it if it did not exist."""
    if path.exists():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix
        )
    except OSError as err:
        raise InputError(
            f"cannot write to the cache folder {path.parent} ({err.strerror}); "
            "set FRAMESIFT_CACHE to a writable folder"
        ) from err
    os.close(fd)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide a shared cache from its group
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def file_identity(path: str | os.PathLike) -> str:
    """Size and modification time of an installed weights file: cheap to read at every start,
    and changed by any reinstall that could change the weights."""
    stat = os.stat(path)
    return f"{stat.st_size:x}-{stat.st_mtime_ns:x}"


def cpu_session(path: Path, threads: int = 0) -> Any:
    """An ONNX Runtime session on the CPU; ``threads`` 0 lets the runtime choose (one per
    physical core). Its threads sleep between work instead of spinning: a first ask decodes
    in other processes on the same cores, and spinning threads took their time (1-hour first
    ask on 2 cores, benchmarks/first_ask.py: 65 s wall and 127 CPU s spinning, 60-63 s and
    117-122 CPU s without)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: the runtime's notices are not the user's
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def mapped_tensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a ``.safetensors`` file, memory-mapped read-only: nothing is read until
    used, and then only the pages used. The format is an 8-byte little-endian header length,
    a JSON header of ``{name: {dtype, shape, data_offsets}}`` and the raw little-endian data.
    Tensors of other dtypes than those below (bfloat16, 8-bit) are left out."""
    with open(path, "rb") as f:
        length = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(length))
    data = np.memmap(path, np.uint8, "r", offset=8 + length)
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] not in _SAFETENSORS_DTYPES:
            continue
        start, end = entry["data_offsets"]
        dtype = np.dtype(_SAFETENSORS_DTYPES[entry["dtype"]]).newbyteorder("<")
        tensors[name] = data[start:end].view(dtype).reshape(entry["shape"])
    return tensors


_SAFETENSORS_DTYPES = {"F64": "f8", "F32": "f4", "F16": "f2", "I64": "i8", "I32": "i4"}
