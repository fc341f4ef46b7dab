"""LLaVA-OneVision reading a compressed token sequence (keyframes full, other frames merged).

The visual tokens are made exactly as transformers' LLaVA-OneVision video path makes them
(``LlavaOnevisionModel.get_video_features``: vision tower hidden state at
``vision_feature_layer``, feature select strategy, ``multi_modal_projector``, 2x2 bilinear
``apply_pooling``), one frame at a time, so the feature cache holds what the language model
reads. Answering then replaces the ``<video>`` placeholder of the prompt by the compressed
sequence plus the ``image_newline`` vector the video path appends, and passes ``inputs_embeds``:
the tokenizer's video-token expansion (one placeholder per visual token) is never used, since
a merged frame is one token and the count varies per video.

Frames are sized and normalised from the processor config (``encode.processor``): the video
processor class itself needs torchvision, which framesift does not depend on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from framesift.answer.base import Answer
from framesift.answer.choices import option_letter, parse_choice
from framesift.encode.processor import video_frame_normalisation
from framesift.errors import InputError
from framesift.hub import weights_identity

if TYPE_CHECKING:
    from framesift.compress.sequence import TokenSequence

DEFAULT_MODEL = "llava-hf/llava-onevision-qwen2-0.5b-ov-hf"

# LLaVA-OneVision's training template (LLaVA-NeXT ``conv_templates["qwen_1_5"]``, ChatML with a
# system turn); llava-hf's chat_template.json renders the same turns without the system one.
CHAT_PREFIX = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
CHAT_END = "<|im_end|>\n<|im_start|>assistant\n"
_MC_INSTRUCTION = "Answer with the option's letter from the given choices directly."


@dataclass(frozen=True)
class PromptLayout:
    """The model input in order: ``prefix_ids`` (L1,), ``n_visual`` embeddings (the sequence's
    T tokens, then ``image_newline``), ``suffix_ids`` (L2,)."""

    prefix_ids: torch.Tensor
    n_visual: int
    suffix_ids: torch.Tensor

    @property
    def n_before(self) -> int:
        return len(self.prefix_ids)

    @property
    def n_after(self) -> int:
        return len(self.suffix_ids)

    @property
    def length(self) -> int:
        return self.n_before + self.n_visual + self.n_after


class LlavaOneVisionPatches:
    """The ``PatchEncoder`` side of ``LlavaOneVisionAnswerer``: projected, pooled frame tokens."""

    def __init__(self, model, tokenizer, model_id: str, batch_size: int = 16):
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size
        vision = model.config.vision_config
        self.frames = video_frame_normalisation(model_id, vision.image_size)
        self.resize = self.frames.resize
        grid = vision.image_size // vision.patch_size
        self.tokens_per_frame = math.ceil(grid / 2) ** 2  # 196 for SigLIP 384/14
        dtype = str(model.dtype).removeprefix("torch.")
        self.name = f"llava-ov:{model_id}@{weights_identity(model_id, model)}:{dtype}"

    @torch.inference_mode()
    def encode_patches(self, pixels: np.ndarray) -> np.ndarray:
        """(B, H, W, 3) uint8 -> (B, P, D) float32: LLaVA-OneVision's video tokens per frame."""
        out = []
        for x in self.frames.batches(pixels, self.batch_size, self.model.device):
            x = x.to(self.model.dtype)  # (b, 3, H, W)
            # Each frame as a one-frame video: (b, 1, 3, H, W) -> pooler_output (b, P + 1, D),
            # P pooled tokens then the image_newline the video path appends; drop the latter.
            features = self.model.get_video_features(pixel_values_videos=x.unsqueeze(1))
            out.append(features.pooler_output[:, :-1].float().cpu())  # (b, P, D)
        return torch.cat(out).numpy()

    @torch.inference_mode()
    def embed_query(self, text: str) -> np.ndarray:
        """(D,) float32: the mean input embedding of the text's tokens.

        DFM compares the query with visual tokens, and the projector maps frames into the
        language model's input-embedding space; the word embeddings of the question are the
        training-free query in that same space (no second encoder, nothing to align). The mean
        is a bag of words: crude, but it is what a query vector without training can be.
        """
        ids = self.tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids[0]
        if len(ids) == 0:
            raise InputError(f"query {text!r} has no tokens; pass a non-empty question")
        embeddings = self.model.get_input_embeddings()(ids.to(self.model.device))  # (L, D)
        return embeddings.float().mean(0).cpu().numpy()


class LlavaOneVisionAnswerer:
    """A ``TokenAnswerer`` over ``LlavaOnevisionForConditionalGeneration`` (hub id or folder).

    ``encoder``: the pipeline's selector encoder, accepted for a uniform constructor and unused.
    ``mode``: "letter" generates greedily and reads the option letter with ``parse_choice``
    (unparseable: index -1, the reply verbatim); "likelihood" runs one forward pass and picks
    the option letter with the highest next-token logit (no generation, so faster, and never
    unparseable). Open-ended questions always generate.
    """

    open_ended = True

    def __init__(
        self,
        model_id: str = DEFAULT_MODEL,
        *,
        encoder: object = None,
        mode: Literal["letter", "likelihood"] = "letter",
        max_new_tokens: int = 16,
        dtype: torch.dtype | str = torch.float32,
        device: str | None = None,
        batch_size: int = 16,
    ):
        from transformers import AutoTokenizer, LlavaOnevisionForConditionalGeneration

        if mode not in ("letter", "likelihood"):
            raise InputError(f"mode must be 'letter' or 'likelihood', got {mode!r}")
        if max_new_tokens < 1:
            raise InputError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = LlavaOnevisionForConditionalGeneration.from_pretrained(model_id, dtype=dtype)
        self.model.to(device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(model_id)
        self.mode, self.max_new_tokens = mode, max_new_tokens
        self.patch_encoder = LlavaOneVisionPatches(self.model, self.tokenizer, model_id, batch_size)

    def prompt_layout(
        self, question: str, options: list[str], sequence: TokenSequence
    ) -> PromptLayout:
        """Token ids around the visual block; the text names the frame times (see ``_text``)."""
        before = self._ids(CHAT_PREFIX)
        after = self._ids("\n" + _text(question, options, sequence) + CHAT_END)
        return PromptLayout(before, len(sequence.embeddings) + 1, after)

    @torch.inference_mode()
    def answer_tokens(self, question: str, options: list[str], sequence: TokenSequence) -> Answer:
        if not question.strip():
            raise InputError("empty question")
        if len(options) == 1:
            raise InputError("a multiple-choice question needs 2 or more options")
        if len(sequence.embeddings) == 0:
            raise InputError("the token sequence is empty; keep at least one keyframe")
        layout = self.prompt_layout(question, options, sequence)
        embeds = self._inputs_embeds(layout, sequence)  # (1, L, D)
        mask = torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device)  # (1, L)
        if options and self.mode == "likelihood":
            logits = self.model(inputs_embeds=embeds, attention_mask=mask, logits_to_keep=1)
            last = logits.logits[0, -1].float()  # (V,)
            scores = [float(last[ids].max()) for ids in self._letter_ids(len(options))]
            best = int(np.argmax(scores))  # ties go to the earlier option
            return Answer(best, options[best], scores)
        text = self._generate(embeds, mask)
        if not options:
            return Answer(-1, text, [])
        choice = parse_choice(text, options)
        return Answer(-1, text, []) if choice is None else Answer(choice, options[choice], [])

    def _inputs_embeds(self, layout: PromptLayout, sequence: TokenSequence) -> torch.Tensor:
        """(1, L, D): prefix, the T visual tokens in temporal order, image_newline, suffix."""
        embed = self.model.get_input_embeddings()
        device, dtype = self.model.device, self.model.dtype
        video = sequence.embeddings.to(device, dtype)  # (T, D)
        newline = self.model.model.image_newline.to(dtype)[None]  # (1, D)
        if video.ndim != 2 or video.shape[1] != newline.shape[1]:
            raise InputError(
                f"sequence embeddings must be (T, {newline.shape[1]}) tokens of this model's "
                f"patch_encoder, got {tuple(video.shape)}"
            )
        parts = [embed(layout.prefix_ids.to(device)), video, newline]
        parts.append(embed(layout.suffix_ids.to(device)))
        return torch.cat(parts)[None]  # (1, L, D)

    def _generate(self, embeds: torch.Tensor, mask: torch.Tensor) -> str:
        tok = self.tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        out = self.model.generate(
            inputs_embeds=embeds,
            attention_mask=mask,
            do_sample=False,
            max_new_tokens=self.max_new_tokens,
            pad_token_id=pad,
        )  # (1, new): with inputs_embeds only, generate returns just the new tokens
        return tok.decode(out[0], skip_special_tokens=True).strip()

    def _ids(self, text: str) -> torch.Tensor:
        return self.tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids[0]

    def _letter_ids(self, n: int) -> list[list[int]]:
        """Per option letter, the ids it can be generated as: "A" and " A" when each is a single
        token (BPE vocabularies hold both); the first token when neither is."""
        out = []
        for i in range(n):
            letter = option_letter(i)
            variants = [self._ids(v).tolist() for v in (letter, " " + letter)]
            single = sorted({v[0] for v in variants if len(v) == 1})
            out.append(single or [variants[0][0]])
        return out


def _text(question: str, options: list[str], sequence: TokenSequence) -> str:
    """The user turn after the video: frame times, the question, options and instruction.

    Time goes in as text, as LLaVA-Video's time instruction does, because the visual tokens
    carry no timestamps and merged frames make their positions irregular.
    """
    frames, first = np.unique(sequence.frame_of_token.numpy(), return_index=True)
    times = sequence.times[first]  # (F,) seconds of each frame present
    key = times[sequence.is_keyframe_token.numpy()[first]]  # (K,)
    timing = f"The video lasts about {times.max():.1f} s; {len(frames)} frames were sampled"
    timing += f", keyframes at {', '.join(f'{t:.1f}' for t in key)} s." if len(key) else "."
    lines = [timing, question.strip()]
    if options:
        lines += [f"{option_letter(i)}. {o}" for i, o in enumerate(options)]
        lines.append(_MC_INSTRUCTION)
    return "\n".join(lines)


class LlavaOneVisionLikelihood(LlavaOneVisionAnswerer):
    """``llava-ov-likelihood``: the same model choosing options by next-token likelihood."""

    def __init__(self, model_id: str = DEFAULT_MODEL, **kwargs):
        super().__init__(model_id, **{"mode": "likelihood", **kwargs})
