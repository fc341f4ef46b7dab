"""Pretrained models by hub id or local folder: available now, or a clear error within seconds.

``transformers``' own loading, asked for a model that is neither on disk nor reachable, retries
the hub for the better part of a minute and ends in a traceback. ``load_pretrained`` decides
first where the model can come from: a local folder, the local hub cache (loaded with
``local_files_only``, no network at all), or the hub when it answers a connection within
``HUB_TIMEOUT`` seconds. Otherwise it raises ``ModelUnavailableError`` naming the ways to
provide the model.

``ModelCache`` holds loaded models by identity, so parts of one pipeline that use the same
model (a VLM localizer and a VLM answerer) share one copy.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from framesift.errors import InputError

HUB_TIMEOUT = 3.0  # seconds to wait for the hub to accept a connection


class ModelUnavailableError(InputError):
    """A model that is neither a local folder, in the local hub cache, nor downloadable now."""


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _hub_reachable() -> bool:
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((endpoint.hostname, port), timeout=HUB_TIMEOUT):
            return True
    except OSError:
        return False


def _in_local_cache(model_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(model_id, "config.json"), str)
    except Exception:  # a malformed id is "not cached"; from_pretrained will say why
        return False


def availability(model_id: str) -> dict[str, Any]:
    """``from_pretrained`` keyword arguments to load ``model_id`` without waiting on a network
    that is not there; ``ModelUnavailableError`` when it cannot be loaded at all."""
    folder = Path(model_id).expanduser()
    if folder.is_dir():
        return {"local_files_only": True}
    if model_id.startswith(("/", ".", "~")) or model_id.count("/") > 1:  # a path, not an id
        raise ModelUnavailableError(f"model folder {model_id} does not exist")
    if _in_local_cache(model_id):
        return {"local_files_only": True}
    how = (
        "download it on a connected machine (huggingface-cli download "
        f"{model_id}) and copy the hub cache, or pass a local folder holding the saved model"
    )
    if _offline():
        raise ModelUnavailableError(
            f"model {model_id} is not available locally and HF_HUB_OFFLINE is set; {how}"
        )
    if not _hub_reachable():
        raise ModelUnavailableError(
            f"model {model_id} is not available locally and the hub cannot be reached; {how} "
            "(set HF_HUB_OFFLINE=1 to skip the network check)"
        )
    return {}


def load_pretrained(loader: Callable[..., Any], model_id: str, **kwargs: Any) -> Any:
    """``loader`` is a ``from_pretrained``; ``kwargs`` go to it."""
    return loader(model_id, **availability(model_id), **kwargs)


def weights_identity(model_id: str, model: Any) -> str:
    """The hub commit when known; for a local folder, its weight files' sizes and mtimes.

    Part of every cache key a model's outputs are stored under: new weights, new entries.
    """
    commit = getattr(model.config, "_commit_hash", None)
    if commit:
        return commit
    folder = Path(model_id)
    if folder.is_dir():
        files = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin"))
        stats = [os.stat(p) for p in files]
        return "local-" + "-".join(f"{s.st_size:x}{s.st_mtime_ns:x}" for s in stats)
    return "unknown"


def default_cache_dir() -> Path:
    """``$FRAMESIFT_CACHE`` if set, else the platform's user cache folder: per-video features
    and the files derived from installed models (exported graphs) live under it."""
    import platformdirs

    return Path(os.environ.get("FRAMESIFT_CACHE") or platformdirs.user_cache_dir("framesift"))


class ModelCache:
    """Loaded models by key, built once. Thread-safe: a server's workers share one cache."""

    def __init__(self) -> None:
        self._models: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._models:
                self._models[key] = build()
            return self._models[key]

    def __len__(self) -> int:
        return len(self._models)


def resolve_device(device: str | None = "auto") -> str:
    """``auto`` (or None): the first CUDA GPU when there is one, else the CPU; ``cpu``,
    ``cuda`` and ``cuda:N`` as given, checked against what this machine has."""
    import torch

    device = (device or "auto").strip().lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return device
    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise InputError(f"device {device!r} asked for, but this machine has no CUDA GPU")
        index = device.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise InputError(
                f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s)"
            )
        return device
    raise InputError(f"device must be auto, cpu, cuda or cuda:N, got {device!r}")


DTYPES = ("auto", "float32", "float16", "bfloat16")


def resolve_dtype(dtype: str | None, device: str) -> Any:
    """A torch dtype: ``auto`` is float16 on a GPU and float32 on the CPU (half precision on
    the CPU is slower, not faster)."""
    import torch

    dtype = (dtype or "auto").strip().lower()
    if dtype not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if dtype == "auto":
        return torch.float16 if device.startswith("cuda") else torch.float32
    return getattr(torch, dtype)


def set_torch_threads(threads: int) -> None:
    """torch's CPU threads, process-wide: now if torch is loaded, else through
    ``OMP_NUM_THREADS``, which torch reads when it is imported (and worker processes inherit),
    so a run that never needs torch does not import it (~2 s) to set a count."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    else:
        os.environ["OMP_NUM_THREADS"] = str(threads)
