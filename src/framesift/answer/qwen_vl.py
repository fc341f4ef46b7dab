"""Qwen2.5-VL and Qwen3-VL answering from the selected keyframes' pixels, each at its true time.

How the keyframes' times reach the model: each keyframe goes in as its own image, preceded in
the text by its timestamp (``Frame at 12.5 s: <image>``), in temporal order. Qwen2.5-VL's video
path would encode time through mRoPE, but it pairs consecutive frames into one temporal patch
(``temporal_patch_size`` 2) and spaces temporal ids by one ``second_per_grid_ts`` per pair, so
it assumes evenly spaced frames: irregular keyframes would be given wrong times, and two
keyframes minutes apart would be fused into one patch. As images, every keyframe keeps its own
patches and gets the time it was decoded at, stated where the model reads it. Qwen3-VL's video
path fuses frame pairs the same way; its own video prompt states each patch's time as text
(``<12.5 seconds>``), so textual times are what it was trained to read. The prompt is the chat
format the checkpoint's own template renders for that message (tests check the logits against
``processor.apply_chat_template``).

Keyframes are decoded square at ``frame_side`` (default 448: Qwen2.5-VL's 14-pixel patches give
16 x 16 = 256 tokens per frame after the 2 x 2 merge, Qwen3-VL's 16-pixel ones 14 x 14 = 196),
the whole frame kept (aspect ratio not preserved), then processed by the model's image
processor.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from framesift.answer.base import Answer, AnswerRequest, check_reply_settings, continuation_score
from framesift.answer.choices import letter_token_ids, option_letter, parse_choice
from framesift.decode import Resize
from framesift.errors import InputError
from framesift.hub import ModelCache
from framesift.vlm.qwen_vl import IMAGE, QWEN3_VL, QWEN25_VL, TURN_END, USER, load_qwen_vl

MC_INSTRUCTION = "Answer with the option's letter from the given choices directly."


def user_text(times: list[float], question: str, options: list[str]) -> list[str]:
    """The user turn as text pieces around the images: piece i precedes image i, the last one
    follows the last image (frame times, then question, options and instruction)."""
    pieces = [f"Frame at {t:.1f} s: " if i == 0 else f"\nFrame at {t:.1f} s: "
              for i, t in enumerate(times)]  # fmt: skip
    lines = [question.strip()]
    if options:
        lines += [f"{option_letter(i)}. {o}" for i, o in enumerate(options)]
        lines.append(MC_INSTRUCTION)
    return [*pieces, ("\n" if times else "") + "\n".join(lines)]


class QwenVLAnswerer:
    """``qwen2.5-vl[:MODEL]``: Qwen2.5-VL (hub id or folder) looks at the keyframes.

    ``mode``: "letter" generates greedily and reads the letter with ``parse_choice``
    (unparseable: index -1, the reply verbatim); "likelihood" runs one forward pass and picks
    the option letter with the highest next-token logit. Open-ended questions generate.
    ``loglikelihood`` scores a given reply (either mode).
    """

    family = QWEN25_VL
    spec_argument = "model_id"
    patch_encoder = None  # reads pixels, not a token sequence
    needs_tokens = False
    open_ended = True
    scores_text = True

    def __init__(
        self,
        model_id: str | None = None,
        *,
        mode: Literal["letter", "likelihood"] = "letter",
        max_new_tokens: int = 16,
        frame_side: int = 448,
        models: ModelCache | None = None,
        device: str | None = "auto",
        dtype: str | torch.dtype | None = "auto",
    ):
        check_reply_settings(mode, max_new_tokens)
        self.vlm = load_qwen_vl(
            model_id, family=self.family, models=models, device=device, dtype=dtype
        )
        factor = self.vlm.patch_factor
        if frame_side < factor or frame_side % factor:
            raise InputError(
                f"frame_side must be a multiple of {factor} for {self.family.name}, "
                f"got {frame_side}"
            )
        self.mode, self.max_new_tokens = mode, max_new_tokens
        self.resize = Resize(frame_side, frame_side)

    def keyframes(self, request: AnswerRequest) -> tuple[list[float], list[np.ndarray]]:
        """The keyframes in temporal order: their decoded times and (H, W, 3) uint8 pixels."""
        evidence = request.evidence
        if evidence.frames is None or evidence.indices is None or len(evidence.indices) == 0:
            raise InputError(
                f"{self.family.name} answers from keyframe pixels; the evidence has none"
            )
        order = np.argsort(evidence.times, kind="stable")
        times: list[float] = []
        frames: list[np.ndarray] = []
        for batch in evidence.frames.read(np.asarray(evidence.indices)[order], self.resize):
            times += [float(t) for t in batch.times]
            frames += list(batch.pixels)
        return times, frames

    def prompt(self, times: list[float], question: str, options: list[str]) -> str:
        pieces = user_text(times, question, options)
        body = "".join(p + IMAGE for p in pieces[:-1]) + pieces[-1]
        return self.family.system + USER + body + TURN_END

    def inputs(self, request: AnswerRequest) -> dict[str, torch.Tensor]:
        """Model inputs of a checked request: the prompt with its keyframes."""
        question, options = request.question, request.options
        if not question.strip():
            raise InputError("empty question")
        if len(options) == 1:
            raise InputError("a multiple-choice question needs 2 or more options")
        times, frames = self.keyframes(request)
        return self.vlm.inputs(self.prompt(times, question, options), frames)

    @torch.inference_mode()
    def answer(self, request: AnswerRequest) -> Answer:
        options = request.options
        inputs = self.inputs(request)
        model = self.vlm.model
        if options and self.mode == "likelihood":
            last = model(**inputs, logits_to_keep=1).logits[0, -1].float()  # (V,)
            letters = letter_token_ids(self.vlm.ids, len(options))
            scores = [float(last[ids].max()) for ids in letters]
            best = int(np.argmax(scores))  # ties go to the earlier option
            return Answer(best, options[best], scores)
        tokenizer = self.vlm.tokenizer
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else None
        out = model.generate(
            **inputs, do_sample=False, max_new_tokens=self.max_new_tokens, pad_token_id=pad
        )  # (1, L + new)
        text = tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        text = text.strip()
        if not options:
            return Answer(-1, text, [])
        choice = parse_choice(text, options)
        return Answer(-1, text, []) if choice is None else Answer(choice, options[choice], [])

    @torch.inference_mode()
    def loglikelihood(self, request: AnswerRequest, continuation: str) -> tuple[float, bool]:
        """(log-probability, is_greedy) of ``continuation`` as the assistant's reply to the
        prompt ``answer`` would pose: its tokens appended to the prompt's, one forward pass."""
        model = self.vlm.model
        ids = torch.tensor(self.vlm.ids(continuation), dtype=torch.long, device=model.device)
        if len(ids) == 0:
            raise InputError("the continuation is empty; give the reply to score")
        inputs = self.inputs(request)
        # the per-token inputs grow by C text tokens: attended, of type text (0)
        text = {"input_ids": ids, "attention_mask": ids * 0 + 1, "mm_token_type_ids": ids * 0}
        for key, values in text.items():
            if key in inputs:
                inputs[key] = torch.cat([inputs[key], values[None].to(inputs[key])], dim=1)
        logits = model(**inputs, logits_to_keep=len(ids) + 1).logits[0, :-1]  # (C, V)
        return continuation_score(logits, ids)  # position L-1+i predicts token i


class QwenVLLikelihood(QwenVLAnswerer):
    """``qwen2.5-vl-likelihood[:MODEL]``: options chosen by next-token likelihood."""

    def __init__(
        self,
        model_id: str | None = None,
        *,
        frame_side: int = 448,
        models: ModelCache | None = None,
        device: str | None = "auto",
        dtype: str | torch.dtype | None = "auto",
    ):
        super().__init__(
            model_id,
            mode="likelihood",
            frame_side=frame_side,
            models=models,
            device=device,
            dtype=dtype,
        )


class Qwen3VLAnswerer(QwenVLAnswerer):
    """``qwen3-vl[:MODEL]``: Qwen3-VL (hub id or folder) looks at the keyframes, as above."""

    family = QWEN3_VL


class Qwen3VLLikelihood(QwenVLLikelihood):
    """``qwen3-vl-likelihood[:MODEL]``: Qwen3-VL chooses options by next-token likelihood."""

    family = QWEN3_VL
