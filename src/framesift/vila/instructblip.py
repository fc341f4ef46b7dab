"""InstructBLIP-Video as ViLA's host: a trainable Q-Former between a frozen vision tower and a
frozen language model (docs/methods.md, "ViLA").

``InstructBlipVideoHost`` loads ``InstructBlipVideoForConditionalGeneration`` (hub id or folder)
and exposes the parts ViLA trains around: ``encode_patches`` (frames -> the frozen vision
tower's outputs, which framesift caches per video like any patch tokens, so training epochs
and later questions never run the tower again), ``qformer_tokens`` (tower outputs + question
-> the language model's input tokens, which the distiller compares between teacher and
student) and ``answer_logits`` (visual tokens + question -> one score per option, for the
answer loss). The Q-Former side is a ``Bridge`` (query tokens, Q-Former, language
projection), so a teacher and a student can each own one over a single frozen tower and
language model; LoRA adapters on the language model are named the same way.

Options are scored as SeViLA, whose code ViLA builds on, scores them: the prompt lists them as
"Option A: ...", the answer reads "Option A", and an option's score is the language model's
log-probability of its letter token after "Option" (full-vocabulary log-softmax). One forward
pass scores every option, and the letter is a single token where option texts are not.

Frames are sized and normalised from the processor config (``encode.processor``): the video
processor class needs torchvision, which framesift does not depend on.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from framesift.answer.choices import option_letter
from framesift.encode.processor import video_frame_normalisation
from framesift.errors import InputError
from framesift.hub import load_pretrained, weights_identity

DEFAULT_MODEL = "Salesforce/instructblip-flan-t5-xl"

# SeViLA's answerer prompt (Yui010206/SeViLA, mc_video_vqa_datasets.py): question, options, then
# this instruction; the target text is "Option <letter>".
QA_PROMPT = (
    "Considering the information presented in the frame, select the correct answer from the "
    "options."
)
ANSWER_PREFIX = "Option"


def qa_text(question: str, options: list[str]) -> str:
    """'Question: q Option A: a0 Option B: a1 ... <QA_PROMPT>' (SeViLA's layout)."""
    lines = [f"Question: {question.strip()}"]
    lines += [f"{ANSWER_PREFIX} {option_letter(i)}: {o}" for i, o in enumerate(options)]
    return " ".join([*lines, QA_PROMPT])


class Bridge(nn.Module):
    """InstructBLIP's trainable middle: query tokens, Q-Former and language projection."""

    def __init__(self, query_tokens: nn.Parameter, qformer: nn.Module, projection: nn.Module):
        super().__init__()
        self.query_tokens, self.qformer, self.language_projection = (
            query_tokens,
            qformer,
            projection,
        )

    def copy(self) -> Bridge:
        """The same values in new tensors (a student's own copy of the teacher's)."""
        return copy.deepcopy(self)


class InstructBlipVideoHost(nn.Module):
    """Vision tower and language model frozen; Q-Former, query tokens and language projection
    trainable, plus LoRA adapters on the language model's attention (query and value
    projections) when ``lora``, one per name in ``adapters``. ``resize``: the frame size to
    decode at. ``bridge`` is the loaded model's own Q-Former side (the same tensors).

    As a ``PatchEncoder`` (``name``, ``resize``, ``encode_patches``) it gives the vision
    tower's per-frame outputs, which is what the patch cache then holds for it.

    ``train()`` keeps the vision tower in eval mode (LAVIS/SeViLA do the same); the frozen
    language model follows the mode, so its dropout regularises the trained parts.
    """

    def __init__(
        self,
        model_id: str = DEFAULT_MODEL,
        *,
        lora: bool = False,
        lora_rank: int = 8,
        adapters: Sequence[str] = ("default",),
        dtype: torch.dtype | str = torch.float32,
        batch_size: int = 16,
    ):
        super().__init__()
        from transformers import AutoTokenizer, InstructBlipVideoForConditionalGeneration

        dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        self.model = load_pretrained(
            InstructBlipVideoForConditionalGeneration.from_pretrained, model_id, dtype=dtype
        )
        self.tokenizer = load_pretrained(AutoTokenizer.from_pretrained, model_id)
        self.qformer_tokenizer = _qformer_tokenizer(model_id)
        self.frames = video_frame_normalisation(
            model_id, self.model.config.vision_config.image_size
        )
        self.resize = self.frames.resize
        self.batch_size = batch_size
        identity = weights_identity(model_id, self.model)
        self.name = f"instructblip-vision:{model_id}@{identity}:{str(dtype).removeprefix('torch.')}"
        m = self.model
        self.bridge = Bridge(m.query_tokens, m.qformer, m.language_projection)
        m.vision_model.requires_grad_(False).eval()
        m.language_model.requires_grad_(False)
        self.lora_targets: list[str] = []
        if lora:
            self.lora_targets = _add_lora(m.language_model, lora_rank, adapters)
        for p in self.trainable_parameters():
            p.requires_grad_(True)
        self.eval()

    def train(self, mode: bool = True) -> InstructBlipVideoHost:
        super().train(mode)
        self.model.vision_model.eval()  # frozen: no dropout or drop-path noise in its features
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Q-Former, query tokens, language projection and, with LoRA, the adapters."""
        lora = [p for n, p in self.model.language_model.named_parameters() if "lora_" in n]
        return [*self.bridge.parameters(), *lora]

    @property
    def device(self) -> torch.device:
        return self.model.query_tokens.device

    def lora_modules(self, adapter: str) -> list[nn.Module]:
        """The adapter's LoRA A and B layers across the language model (empty without LoRA)."""
        from peft.tuners.lora import LoraLayer

        layers = [m for m in self.model.language_model.modules() if isinstance(m, LoraLayer)]
        return [d[adapter] for m in layers for d in (m.lora_A, m.lora_B) if adapter in d]

    def use_adapter(self, adapter: str) -> None:
        """Route the language model through LoRA adapter ``adapter``; which parameters train
        is left as it was (peft's switch would also change that)."""
        from peft.tuners.tuners_utils import BaseTunerLayer

        if not self.lora_targets:
            return
        grads = {p: p.requires_grad for p in self.model.language_model.parameters()}
        for module in self.model.language_model.modules():
            if isinstance(module, BaseTunerLayer):
                module.set_adapter(adapter)
        for p, required in grads.items():
            p.requires_grad_(required)

    @torch.inference_mode()
    def encode_patches(self, pixels: np.ndarray) -> np.ndarray:
        """(B, H, W, 3) uint8 RGB at ``resize`` -> (B, P, D_v) float32: the frozen vision
        tower's last hidden states (what the Q-Former cross-attends to), ``batch_size`` frames
        at a time."""
        out = []
        for x in self.frames.batches(pixels, self.batch_size, self.device):  # (b, 3, H, W)
            hidden = self.model.vision_model(pixel_values=x.to(self.model.vision_model.dtype))
            out.append(hidden.last_hidden_state.float().cpu())  # (b, P, D_v)
        return torch.cat(out).numpy()

    def embed_query(self, text: str) -> np.ndarray:
        """The vision tower has no text side, so there is no query to merge frames by: ViLA
        keeps its S frames whole (the default ``--merge drop``)."""
        raise InputError(
            "InstructBLIP's vision features have no text space for a merge query; "
            "use --merge drop (the default) with a ViLA InstructBLIP checkpoint"
        )

    def qformer_tokens(
        self, vision: torch.Tensor, question: list[str], bridge: Bridge | None = None
    ) -> torch.Tensor:
        """(B, F, P, D_v) vision-tower outputs -> (B, F*Q, H_lm) language-model input tokens:
        each frame through the Q-Former (its queries also attend to the question,
        InstructBLIP's instruction conditioning) and the language projection, as the model's
        ``get_video_features`` does; frame f's Q tokens at [f*Q, (f+1)*Q), in frame order.
        ``bridge``: whose Q-Former side (default: the loaded model's)."""
        bridge = bridge or self.bridge
        B, F_, P, Dv = vision.shape
        if len(question) != B:
            raise InputError(f"{B} videos but {len(question)} questions; pass one each")
        x = vision.to(self.device, bridge.query_tokens.dtype).reshape(B * F_, P, Dv)
        text = self.qformer_tokenizer(
            question,
            padding=True,
            truncation=True,
            max_length=self.model.config.qformer_config.max_position_embeddings,
            return_tensors="pt",
        )
        ids = text.input_ids.to(self.device).repeat_interleave(F_, dim=0)  # (B*F, L)
        queries = bridge.query_tokens.expand(B * F_, -1, -1)  # (B*F, Q, H_q)
        Q = queries.shape[1]
        mask = torch.cat(
            [
                torch.ones(B * F_, Q, dtype=torch.long, device=self.device),
                text.attention_mask.to(self.device).repeat_interleave(F_, dim=0),
            ],
            dim=1,
        )  # (B*F, Q + L)
        out = bridge.qformer(
            input_ids=ids,
            attention_mask=mask,
            query_embeds=queries,
            encoder_hidden_states=x,
            encoder_attention_mask=torch.ones(x.shape[:2], dtype=torch.long, device=self.device),
        )
        tokens = bridge.language_projection(out[0][:, :Q])  # (B*F, Q, H_lm)
        return tokens.reshape(B, F_ * Q, -1)  # (B, F*Q, H_lm)

    def visual_tokens(
        self,
        pixels: np.ndarray | torch.Tensor,
        question: list[str],
        bridge: Bridge | None = None,
    ) -> torch.Tensor:
        """(B, F, H, W, 3) uint8 RGB frames at ``resize`` -> (B, F*Q, H_lm): the vision tower
        (frozen, no gradient), then ``qformer_tokens``."""
        x = np.asarray(pixels)
        h, w = self.resize.height, self.resize.width
        if x.ndim != 5 or x.shape[2:] != (h, w, 3):
            raise InputError(
                f"frames must be (B, F, {h}, {w}, 3) uint8 RGB (decode at this host's resize), "
                f"got {tuple(x.shape)} {x.dtype}"
            )
        B, F_ = x.shape[:2]
        vision = torch.from_numpy(self.encode_patches(x.reshape(B * F_, h, w, 3)))
        return self.qformer_tokens(vision.reshape(B, F_, *vision.shape[1:]), question, bridge)

    def answer_logits(
        self,
        visual_tokens: torch.Tensor,
        question: list[str],
        options: list[list[str]],
        adapter: str | None = None,
    ) -> torch.Tensor:
        """(B, T, H_lm) visual tokens -> (B, O) log P(letter of each option | tokens, prompt).

        O is the largest option count in the batch; a question with fewer options gets -inf in
        the missing columns (zero probability under a softmax or cross-entropy). ``adapter``:
        the LoRA adapter to answer through (when the host has several).
        """
        if adapter is not None:
            self.use_adapter(adapter)
        B, T, _ = visual_tokens.shape
        if not len(question) == len(options) == B:
            raise InputError(f"{B} videos, {len(question)} questions, {len(options)} option lists")
        if any(len(o) < 2 for o in options):
            raise InputError("every question needs 2 or more options")
        n_options = max(len(o) for o in options)
        prefix, letters = self._answer_ids(n_options)  # (P,) ids of "Option", (O,) letter ids
        lm, embed = self.model.language_model, self.model.get_input_embeddings()
        texts = [qa_text(q, o) for q, o in zip(question, options, strict=True)]
        prompts = [self.tokenizer(t).input_ids for t in texts]  # with the model's special tokens
        encoder_decoder = lm.config.is_encoder_decoder
        if not encoder_decoder:  # one sequence: the answer prefix follows the prompt
            prompts = [p + prefix for p in prompts]
        L = T + max(len(p) for p in prompts)
        # Visual tokens first (as InstructBLIP places them), then text; right-padded so every
        # real position keeps its index, and the padding is masked out.
        tokens = visual_tokens.to(lm.dtype)
        embeds = tokens.new_zeros(B, L, tokens.shape[-1])  # (B, L, H_lm)
        mask = torch.zeros(B, L, dtype=torch.long, device=tokens.device)  # (B, L)
        for b, ids in enumerate(prompts):
            n = T + len(ids)
            text = embed(torch.tensor(ids, device=tokens.device))  # (len, H_lm)
            embeds[b, :n] = torch.cat([tokens[b], text])
            mask[b, :n] = 1
        if encoder_decoder:  # the decoder starts the answer: [start] "Option" -> next: letter
            start = lm.config.decoder_start_token_id
            decoder = torch.tensor([[start, *prefix]] * B, device=tokens.device)  # (B, 1 + P)
            out = lm(inputs_embeds=embeds, attention_mask=mask, decoder_input_ids=decoder)
            logits = out.logits[:, -1]  # (B, V)
        else:  # the next token after each sequence's own last real position
            last = mask.sum(1) - 1  # (B,)
            keep = torch.unique(last)  # (K,) sorted: only these positions reach the LM head
            out = lm(inputs_embeds=embeds, attention_mask=mask, logits_to_keep=keep)
            logits = out.logits[torch.arange(B), torch.searchsorted(keep, last)]  # (B, V)
        scores = logits.float().log_softmax(-1)[:, letters]  # (B, O)
        counts = torch.tensor([len(o) for o in options], device=scores.device)  # (B,)
        missing = torch.arange(n_options, device=scores.device)[None] >= counts[:, None]
        return scores.masked_fill(missing, float("-inf"))

    def _answer_ids(self, n: int) -> tuple[list[int], list[int]]:
        """Token ids of the answer prefix ("Option") and of the letter after it, per option:
        "Option A", "Option B"... tokenised whole, so the letter is the token the language model
        would produce there (T5: "▁A", id 71 in SeViLA's code)."""
        spelled = [
            self.tokenizer(
                f"{ANSWER_PREFIX} {option_letter(i)}", add_special_tokens=False
            ).input_ids
            for i in range(n)
        ]
        p = 0
        while all(len(s) > p + 1 and s[p] == spelled[0][p] for s in spelled):
            p += 1
        letters = [s[p] for s in spelled]
        if p == 0 or len(set(letters)) != n:
            raise InputError(
                f"the tokenizer does not split '{ANSWER_PREFIX} <letter>' into a shared prefix "
                "and one distinct token per letter; option letters cannot be scored"
            )
        return spelled[0][:p], letters


def _qformer_tokenizer(model_id: str):
    """The Q-Former's BERT tokenizer: the ``qformer_tokenizer`` subfolder, as
    ``InstructBlipVideoProcessor.from_pretrained`` loads it (the root folder as a fallback)."""
    from transformers import AutoTokenizer

    try:
        return load_pretrained(
            AutoTokenizer.from_pretrained, model_id, subfolder="qformer_tokenizer"
        )
    except (OSError, ValueError):
        return load_pretrained(AutoTokenizer.from_pretrained, model_id)


def _add_lora(lm: nn.Module, rank: int, adapters: Sequence[str]) -> list[str]:
    """LoRA on the attention's query and value projections, injected in place (the module tree
    and its forward stay the same), one adapter per name. Names by family: ``q``/``v`` in T5,
    ``q_proj``/``v_proj`` in OPT, LLaMA/Vicuna and most decoder-only models. Returns the
    target names."""
    from peft import LoraConfig, inject_adapter_in_model

    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise InputError(f"lora_rank must be a positive integer, got {rank!r}")
    linear = {n.rsplit(".", 1)[-1] for n, m in lm.named_modules() if isinstance(m, nn.Linear)}
    for targets in (["q_proj", "v_proj"], ["q", "v"]):
        if set(targets) <= linear:
            break
    else:
        raise InputError(
            f"no query/value projections (q_proj/v_proj or q/v) in the {type(lm).__name__} "
            "language model; LoRA targets for this family are unknown"
        )
    config = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.05, target_modules=targets)
    with warnings.catch_warnings():  # peft warns that a second adapter is a second adapter
        warnings.filterwarnings("ignore", message=".*multiple adapters", category=UserWarning)
        for name in adapters:
            inject_adapter_in_model(config, lm, adapter_name=name)
    for name, p in lm.named_parameters():
        p.requires_grad_("lora_" in name)
    return targets
