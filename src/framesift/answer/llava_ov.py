"""LLaVA-OneVision reading a compressed token sequence (keyframes full, other frames merged).

Answering replaces the ``<video>`` placeholder of the prompt by the compressed sequence plus the
``image_newline`` vector the video path appends, and passes ``inputs_embeds``: the tokenizer's
video-token expansion (one placeholder per visual token) is never used, since a merged frame is
one token and the count varies per video. The model itself is ``vlm.llava_ov``'s, shared with
the localizer when both are configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from framesift.answer.base import Answer, AnswerRequest, check_reply_settings, continuation_score
from framesift.answer.choices import letter_token_ids, option_letter, parse_choice
from framesift.errors import InputError
from framesift.hub import ModelCache
from framesift.vlm.llava_ov import CHAT_END, CHAT_PREFIX, DEFAULT_MODEL, load_llava_ov

if TYPE_CHECKING:
    from framesift.compress.sequence import TokenSequence

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


class LlavaOneVisionAnswerer:
    """``llava-ov[:MODEL]``: LLaVA-OneVision reads the token sequence (hub id or folder).

    ``mode``: "letter" generates greedily and reads the option letter with ``parse_choice``
    (unparseable: index -1, the reply verbatim); "likelihood" runs one forward pass and picks
    the option letter with the highest next-token logit (no generation, so faster, and never
    unparseable). Open-ended questions always generate. ``loglikelihood`` scores a given reply
    (either mode).
    """

    spec_argument = "model_id"
    open_ended = True
    needs_tokens = True
    scores_text = True

    def __init__(
        self,
        model_id: str = DEFAULT_MODEL,
        *,
        mode: Literal["letter", "likelihood"] = "letter",
        max_new_tokens: int = 16,
        batch_size: int = 16,
        models: ModelCache | None = None,
        device: str | None = "auto",
        dtype: str | torch.dtype | None = "auto",
    ):
        check_reply_settings(mode, max_new_tokens)
        self.vlm = load_llava_ov(
            model_id, models=models, device=device, dtype=dtype, batch_size=batch_size
        )
        self.model, self.tokenizer = self.vlm.model, self.vlm.tokenizer
        self.mode, self.max_new_tokens = mode, max_new_tokens
        self.patch_encoder = self.vlm.patches

    def prompt_layout(
        self, question: str, options: list[str], sequence: TokenSequence
    ) -> PromptLayout:
        """Token ids around the visual block; the text names the frame times (see ``_text``)."""
        before = self._ids(CHAT_PREFIX)
        after = self._ids("\n" + _text(question, options, sequence) + CHAT_END)
        return PromptLayout(before, len(sequence.embeddings) + 1, after)

    @torch.inference_mode()
    def answer(self, request: AnswerRequest) -> Answer:
        options = request.options
        embeds = self._prompt_embeds(request)  # (1, L, D)
        mask = torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device)  # (1, L)
        if options and self.mode == "likelihood":
            logits = self.model(inputs_embeds=embeds, attention_mask=mask, logits_to_keep=1)
            last = logits.logits[0, -1].float()  # (V,)
            letters = letter_token_ids(lambda t: self._ids(t).tolist(), len(options))
            scores = [float(last[ids].max()) for ids in letters]
            best = int(np.argmax(scores))  # ties go to the earlier option
            return Answer(best, options[best], scores)
        text = self._generate(embeds, mask)
        if not options:
            return Answer(-1, text, [])
        choice = parse_choice(text, options)
        return Answer(-1, text, []) if choice is None else Answer(choice, options[choice], [])

    @torch.inference_mode()
    def loglikelihood(self, request: AnswerRequest, continuation: str) -> tuple[float, bool]:
        """(log-probability, is_greedy) of ``continuation`` as the assistant's reply to the
        prompt ``answer`` would pose: one forward pass over the prompt and its tokens."""
        ids = self._ids(continuation).to(self.model.device)  # (C,)
        if len(ids) == 0:
            raise InputError("the continuation is empty; give the reply to score")
        prompt = self._prompt_embeds(request)  # (1, L, D)
        embeds = torch.cat([prompt, self.model.get_input_embeddings()(ids)[None]], dim=1)
        mask = torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device)
        out = self.model(inputs_embeds=embeds, attention_mask=mask, logits_to_keep=len(ids) + 1)
        return continuation_score(out.logits[0, :-1], ids)  # position L-1+i predicts token i

    def _prompt_embeds(self, request: AnswerRequest) -> torch.Tensor:
        """(1, L, D) prompt of a checked request; see ``prompt_layout``."""
        question, options, sequence = request.question, request.options, request.tokens
        if sequence is None:
            raise InputError("LLaVA-OneVision answers from a token sequence; none was prepared")
        if not question.strip():
            raise InputError("empty question")
        if len(options) == 1:
            raise InputError("a multiple-choice question needs 2 or more options")
        if len(sequence.embeddings) == 0:
            raise InputError("the token sequence is empty; keep at least one keyframe")
        return self._inputs_embeds(self.prompt_layout(question, options, sequence), sequence)

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
        return self.vlm.ids(text)


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
    """``llava-ov-likelihood[:MODEL]``: the same model choosing options by next-token
    likelihood (``mode`` is fixed)."""

    def __init__(
        self,
        model_id: str = DEFAULT_MODEL,
        *,
        batch_size: int = 16,
        models: ModelCache | None = None,
        device: str | None = "auto",
        dtype: str | torch.dtype | None = "auto",
    ):
        super().__init__(
            model_id,
            mode="likelihood",
            batch_size=batch_size,
            models=models,
            device=device,
            dtype=dtype,
        )
