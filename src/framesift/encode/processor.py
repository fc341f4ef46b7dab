"""How a video-language model wants its frames: size and normalisation from its processor
config, applied in torch.

transformers' video processor classes need torchvision, which framesift does not depend on,
so the config is read as ``BaseVideoProcessor`` resolves it (processor_config.json's nested
entry, then video_preprocessor_config.json, then preprocessor_config.json), and missing keys
take the CLIP statistics these models' processors default to. The decoder resizes to
``resize``; ``normalise`` does the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from framesift.decode import Resize
from framesift.errors import InputError


@dataclass(frozen=True)
class FrameNormalisation:
    resize: Resize
    mean: tuple[float, ...]
    std: tuple[float, ...]
    rescale: float

    def normalise(self, pixels: torch.Tensor) -> torch.Tensor:
        """(..., 3, H, W) uint8 or float pixel values -> float32 model input."""
        shape = (3, 1, 1)
        mean = torch.tensor(self.mean, device=pixels.device).view(shape)
        std = torch.tensor(self.std, device=pixels.device).view(shape)
        return (pixels.float() * self.rescale - mean) / std

    def batches(
        self, pixels: np.ndarray, batch_size: int, device: torch.device | str
    ) -> Iterator[torch.Tensor]:
        """(B, H, W, 3) uint8 RGB frames at ``resize`` -> normalised (b, 3, H, W) float32
        batches on ``device``; frames of another size or type are refused."""
        h, w = self.resize.height, self.resize.width
        if pixels.ndim != 4 or pixels.shape[1:] != (h, w, 3) or pixels.dtype != np.uint8:
            raise InputError(
                f"frames must be (B, {h}, {w}, 3) uint8 RGB (decode at this model's resize), "
                f"got {pixels.shape} {pixels.dtype}"
            )
        for i in range(0, len(pixels), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(pixels[i : i + batch_size]))
            yield self.normalise(x.to(device).permute(0, 3, 1, 2))  # (b, 3, H, W)


def video_frame_normalisation(model_id: str, tower_side: int) -> FrameNormalisation:
    """The model's frame size and statistics; its size must be the vision tower's square input
    (``tower_side``), which is also the default when the config names none."""
    from transformers.utils.constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
    from transformers.video_processing_utils import BaseVideoProcessor

    cfg, _ = BaseVideoProcessor.get_video_processor_dict(model_id)
    size = cfg.get("size") or {"height": tower_side, "width": tower_side}
    resize = Resize(int(size["width"]), int(size["height"]))
    if (resize.width, resize.height) != (tower_side, tower_side):
        raise InputError(
            f"{model_id}: processor size {size} differs from the vision tower's "
            f"{tower_side}x{tower_side} input; fix the processor config"
        )
    return FrameNormalisation(
        resize=resize,
        mean=tuple(cfg.get("image_mean") or OPENAI_CLIP_MEAN),
        std=tuple(cfg.get("image_std") or OPENAI_CLIP_STD),
        rescale=float(cfg.get("rescale_factor", 1 / 255)),
    )
