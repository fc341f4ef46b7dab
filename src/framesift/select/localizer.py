"""SeViLA's localizer as a frame selector: the VLM judges every candidate frame on its own.

Each frame goes through LLaVA-OneVision alone, as a one-frame video (the answerer's own visual
tokens), followed by SeViLA's localizer question; the frame's score is P("yes") from the
next-token distribution, renormalised over the "yes" and "no" tokens. The top ``budget`` frames
are kept. One language-model pass per candidate frame: accurate and slow by design, it is the
baseline ViLA's speed-ups are measured against (docs/methods.md).

SeViLA itself ranks frames by the raw "yes" logit of its fine-tuned Flan-T5 localizer; framesift
uses P("yes"), which ranks by the yes-no margin instead and is comparable across questions.
"""

from __future__ import annotations

import numpy as np
import torch

from framesift.errors import InputError
from framesift.hub import ModelCache
from framesift.select.base import FrameReader, SelectionRequest
from framesift.vlm.llava_ov import CHAT_END, CHAT_PREFIX, DEFAULT_MODEL, load_llava_ov

# SeViLA's localizer prompt (Yui010206/SeViLA, lavis/datasets/datasets/mc_video_vqa_datasets.py
# and app.py: 'Question: ' + q + ' ' + options + ' ' + LOC_prompt). The options are left out:
# selection happens before (and whether or not) there are options. "Answer yes or no." is
# added because SeViLA's localizer was fine-tuned to reply yes/no and a chat VLM is not.
LOCALIZER_PROMPT = (
    "Does the information within the frame provide the necessary details to accurately answer "
    "the given question?"
)


def localizer_text(question: str) -> str:
    """The user-turn text after the frame."""
    return f"Question: {question.strip()}\n{LOCALIZER_PROMPT}\nAnswer yes or no."


class VLMLocalizer:
    """``vlm-localizer[:MODEL]``: every candidate frame scored by LLaVA-OneVision.

    ``batch_size`` frames share one forward pass (every prompt has the same length, so no
    padding). ``last_scores``: (N,) float64 P("yes") of every candidate of the last call, for
    inspection. The model comes from the pipeline's ``ModelCache``, so a ``llava-ov`` answerer
    of the same model, device and dtype uses the same copy.
    """

    spec_argument = "model_id"

    def __init__(
        self,
        model_id: str = DEFAULT_MODEL,
        *,
        batch_size: int = 8,
        models: ModelCache | None = None,
        device: str | None = "auto",
        dtype: str | torch.dtype | None = "auto",
    ):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.vlm = load_llava_ov(model_id, models=models, device=device, dtype=dtype)
        self.batch_size = batch_size
        tokenizer = self.vlm.tokenizer
        self.yes_ids, self.no_ids = _word_ids(tokenizer, "yes"), _word_ids(tokenizer, "no")
        if set(self.yes_ids) & set(self.no_ids):
            raise InputError(f"{model_id}: 'yes' and 'no' share a token; cannot score frames")
        self.last_scores = np.empty(0, dtype=np.float64)

    def select(self, request: SelectionRequest) -> np.ndarray:
        """Indices of the ``budget`` frames with the highest P("yes"), in temporal order; equal
        scores keep the earlier frame."""
        request.require("frames", "vlm-localizer")
        scores = self.score_frames(request.frames, request.size, request.question)  # (N,)
        self.last_scores = scores
        best = np.argsort(-scores, kind="stable")[: request.k]
        return np.sort(best).astype(np.int64)

    @torch.inference_mode()
    def score_frames(self, frames: FrameReader, n: int, question: str) -> np.ndarray:
        """(N,) float64 P("yes") for each of the ``n`` candidates ``frames`` reads."""
        if not question.strip():
            raise InputError("empty question; the localizer asks the VLM about the question")
        if n == 0:
            return np.empty(0, dtype=np.float64)
        model = self.vlm.model
        before = self.vlm.embed(CHAT_PREFIX)[None]  # (1, L1, D): the chat turn, as it answers
        after = self.vlm.embed("\n" + localizer_text(question) + CHAT_END)[None]  # (1, L2, D)
        newline = model.model.image_newline.to(model.dtype)[None, None]  # (1, 1, D)
        yes, no = torch.tensor(self.yes_ids), torch.tensor(self.no_ids)
        encoder, scores = self.vlm.patches, []
        for batch in frames.read(np.arange(n), encoder.resize, self.batch_size):
            tokens = torch.from_numpy(encoder.encode_patches(batch.pixels))  # (b, P, D)
            tokens = tokens.to(model.device, model.dtype)
            b = len(tokens)
            # The answerer's layout: chat prefix, the frame's tokens, image_newline, the text.
            parts = [before.expand(b, -1, -1), tokens, newline.expand(b, -1, -1)]
            embeds = torch.cat([*parts, after.expand(b, -1, -1)], dim=1)  # (b, L, D)
            mask = torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device)
            out = model(inputs_embeds=embeds, attention_mask=mask, logits_to_keep=1)
            logits = out.logits[:, -1].float().cpu()  # (b, V)
            # Every spelling of a word counts: its probability is the sum over its tokens.
            margin = logits[:, yes].logsumexp(-1) - logits[:, no].logsumexp(-1)  # (b,)
            scores.append(torch.sigmoid(margin).double().numpy())  # softmax over {yes, no}
        return np.concatenate(scores)


def _word_ids(tokenizer, word: str) -> list[int]:
    """Token ids ``word`` can be generated as: each of "yes", " yes", "Yes", " Yes" that is a
    single token (BPE vocabularies hold several); the first token of ``word`` when none is."""
    spellings = [word, " " + word, word.capitalize(), " " + word.capitalize()]
    ids = [tokenizer(s, add_special_tokens=False).input_ids for s in spellings]
    single = sorted({v[0] for v in ids if len(v) == 1})
    return single or [ids[0][0]]
