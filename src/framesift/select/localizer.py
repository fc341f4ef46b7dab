"""SeViLA's localizer as a frame selector: the VLM judges every candidate frame on its own.

Each frame goes through LLaVA-OneVision alone, as a one-frame video (the answerer's own visual
tokens), followed by SeViLA's localizer question; the frame's score is P("yes") from the
next-token distribution, renormalised over the "yes" and "no" tokens. The top ``budget`` frames
are kept. One language-model pass per candidate frame: accurate and slow by design, it is the
baseline ViLA's speed-ups are measured against (SPEC "SeViLA (baseline)").

SeViLA itself ranks frames by the raw "yes" logit of its fine-tuned Flan-T5 localizer; the spec
asks for P("yes"), which ranks by the yes-no margin instead and is comparable across questions.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from framesift.answer.llava_ov import CHAT_END, CHAT_PREFIX, LlavaOneVisionAnswerer
from framesift.decode import decode_at
from framesift.errors import InputError

DEFAULT_MODEL = "llava-hf/llava-onevision-qwen2-0.5b-ov-hf"

# SeViLA's localizer prompt (Yui010206/SeViLA, lavis/datasets/datasets/mc_video_vqa_datasets.py
# and app.py: 'Question: ' + q + ' ' + options + ' ' + LOC_prompt). The options are left out:
# ``FrameSelector.select_frames`` does not receive them. "Answer yes or no." is added because
# SeViLA's localizer was fine-tuned to reply yes/no and an off-the-shelf chat VLM is not.
LOCALIZER_PROMPT = (
    "Does the information within the frame provide the necessary details to accurately answer "
    "the given question?"
)

# A candidate time must name its frame: the frame re-decoded for it may start at most this much
# earlier (rounded times); real frames last far longer (1 ms is 1000 fps).
_TIME_TOLERANCE = 1e-3


def localizer_text(question: str) -> str:
    """The user-turn text after the frame."""
    return f"Question: {question.strip()}\n{LOCALIZER_PROMPT}\nAnswer yes or no."


class VLMLocalizer:
    """A ``FrameSelector`` scoring each candidate frame with LLaVA-OneVision (hub id or folder).

    ``batch_size`` frames share one forward pass (every prompt has the same length, so no
    padding). ``last_scores``: (N,) float64 P("yes") of every candidate of the last call, for
    inspection. Other keyword arguments are the score-scale defaults an encoder gives every
    selector (relevance floors...): they mean nothing to a VLM and are ignored.
    """

    def __init__(
        self,
        model_id: str = DEFAULT_MODEL,
        *,
        batch_size: int = 8,
        dtype: torch.dtype | str = torch.float32,
        device: str | None = None,
        **ignored: object,
    ):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.vlm = LlavaOneVisionAnswerer(
            model_id, dtype=dtype, device=device, batch_size=batch_size
        )
        self.batch_size = batch_size
        tokenizer = self.vlm.tokenizer
        self.yes_ids, self.no_ids = _word_ids(tokenizer, "yes"), _word_ids(tokenizer, "no")
        if set(self.yes_ids) & set(self.no_ids):
            raise InputError(f"{model_id}: 'yes' and 'no' share a token; cannot score frames")
        self.last_scores = np.empty(0, dtype=np.float64)

    def select_frames(
        self, video: str, times: np.ndarray, question: str, budget: int
    ) -> np.ndarray:
        """Indices of the ``budget`` frames with the highest P("yes"), in temporal order; equal
        scores keep the earlier frame."""
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
            raise InputError(f"budget must be a positive integer number of frames, got {budget!r}")
        scores = self.score_frames(video, times, question)  # (N,)
        self.last_scores = scores
        best = np.argsort(-scores, kind="stable")[: min(int(budget), len(scores))]
        return np.sort(best).astype(np.int64)

    @torch.inference_mode()
    def score_frames(
        self, video: str | os.PathLike, times: np.ndarray, question: str
    ) -> np.ndarray:
        """(N,) float64 P("yes") per candidate frame, the frames re-decoded at ``times``."""
        if not question.strip():
            raise InputError("empty question; the localizer asks the VLM about the question")
        times = _check_times(times)
        if len(times) == 0:
            return np.empty(0, dtype=np.float64)
        model, tokenizer = self.vlm.model, self.vlm.tokenizer
        embed = model.get_input_embeddings()

        def embedded(text: str) -> torch.Tensor:  # (1, L, D)
            ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
            return embed(ids.to(model.device))

        before = embedded(CHAT_PREFIX)  # (1, L1, D): LLaVA-OneVision's chat turn, as it answers
        after = embedded("\n" + localizer_text(question) + CHAT_END)  # (1, L2, D)
        newline = model.model.image_newline.to(model.dtype)[None, None]  # (1, 1, D)
        yes, no = torch.tensor(self.yes_ids), torch.tensor(self.no_ids)
        encoder, scores = self.vlm.patch_encoder, []
        for batch in decode_at(video, times, encoder.resize, batch_size=self.batch_size):
            done = sum(len(s) for s in scores)
            _check_decoded(batch.times, times[done : done + len(batch.times)], done, video)
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
        done = sum(len(s) for s in scores)
        _check_decoded(np.empty(0), times[done:], done, video)
        return np.concatenate(scores)


def _word_ids(tokenizer, word: str) -> list[int]:
    """Token ids ``word`` can be generated as: each of "yes", " yes", "Yes", " Yes" that is a
    single token (BPE vocabularies hold several); the first token of ``word`` when none is."""
    spellings = [word, " " + word, word.capitalize(), " " + word.capitalize()]
    ids = [tokenizer(s, add_special_tokens=False).input_ids for s in spellings]
    single = sorted({v[0] for v in ids if len(v) == 1})
    return single or [ids[0][0]]


def _check_times(times: np.ndarray) -> np.ndarray:
    try:
        t = np.asarray(times, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InputError(f"times must be a numeric (N,) array of seconds: {e}") from e
    if t.ndim != 1 or not np.isfinite(t).all() or (t < 0).any() or (np.diff(t) <= 0).any():
        raise InputError(
            "times must be a 1-D array of strictly increasing frame times >= 0 in seconds "
            "(the candidate pool's FrameFeatures.times)"
        )
    return t


def _check_decoded(
    decoded: np.ndarray, expected: np.ndarray, offset: int, video: str | os.PathLike
) -> None:
    """Each candidate must come back as its own frame, or the scores would be misaligned."""
    n = min(len(decoded), len(expected))
    bad = np.flatnonzero(np.abs(decoded[:n] - expected[:n]) > _TIME_TOLERANCE)
    if len(bad) or len(decoded) != len(expected):
        i = int(bad[0]) if len(bad) else n
        at = f" (at {expected[i]:.3f} s)" if i < len(expected) else ""
        raise InputError(
            f"{video}: candidate {offset + i}{at} did not decode "
            "to its own frame, so the times are not this video's frame times; pass the times "
            "the candidate pool was decoded at (FrameFeatures.times), for this file"
        )
