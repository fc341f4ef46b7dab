"""framesift as an lmms-eval model: ``--model framesift --model_args answerer=llava-ov,budget=32``.

lmms-eval (0.7+) finds this model through the ``lmms_eval.models`` entry point declared in
framesift's pyproject.toml, so it runs next to an unmodified lmms-eval and its stock tasks.

``model_args`` are ``PipelineConfig`` fields (answerer, encoder, selector, budget, fps, frames,
merge, keyframe_pool, dtype, cache_dir, use_cache, device) plus per-part parameters written
``PART.KEY=VALUE`` (``answerer.max_new_tokens=32``, ``selector.relevance_floor=0.1``).
lmms-eval's ``--device`` sets the device; its ``--batch_size`` is accepted and has no effect,
since framesift answers one question at a time (features are cached per video instead).

How a task's prompt is posed: when the prompt lists two or more lettered options, one per line
(``A. text``, ``(A) text``, ``A) text``, as Video-MME, MLVU and LongVideoBench write them), the
options go to framesift as its options and the prompt's other lines as the question; the
reply is the chosen option's letter (every lmms-eval multiple-choice parser reads a bare
letter), or the model's own words when a generative answerer commits to no option. Options
that repeat an earlier one (some real MLVU entries do) are offered once and answered with the
first one's letter. Any other prompt is asked open-ended, verbatim, which needs a generative
answerer (``llava-ov``); the reply is cut at the task's ``until`` strings, and its length is
``answerer.max_new_tokens`` (default 16, as lmms-eval's video tasks ask).

``loglikelihood`` requests (tasks with ``output_type: multiple_choice`` or ``loglikelihood``)
need an answerer that scores text (``llava-ov``, ``llava-ov-likelihood`` and the qwen ones):
the prompt is posed verbatim as the question (it picks the keyframes, as in ``ask``) and the
continuation is scored, exactly as given, as the model's reply (``Pipeline.loglikelihood``).
The value returned is the continuation's negative log-likelihood (summed over its tokens):
lmms-eval 0.7 picks a multiple-choice task's answer as the choice with the *smallest* value
(its own models return a loss), so the likeliest choice wins, and ``acc_norm``'s division by
the choice's length is lm-eval's per-character normalisation. A task's ``target_delimiter``
(default one space) is part of the continuation; chat models read a reply best without it.
"""

from __future__ import annotations

import os
import re
from dataclasses import fields
from typing import Any

from lmms_eval.api.instance import GenerationResult, Instance
from lmms_eval.api.model import lmms
from lmms_eval.models.registry_v2 import ModelManifest
from tqdm import tqdm

from framesift.answer.choices import normalize_text, option_letter
from framesift.errors import InputError
from framesift.pipeline import PARTS, Pipeline, PipelineConfig

MODEL_ID = "framesift"

# the object lmms-eval's registry loads from the entry point
manifest = ModelManifest(
    model_id=MODEL_ID, simple_class_path="framesift.integrations.lmms_eval.FramesiftLMM"
)

# "A. text", "(A) text", "A) text", "A: text": one option per line
_OPTION_LINE = re.compile(r"^\s*\(?([A-Z])[.):]\s*(\S.*?)\s*$")
_CONFIG_KEYS = tuple(f.name for f in fields(PipelineConfig) if f.name not in ("params", "progress"))


def pipeline_config(model_args: dict[str, Any]) -> PipelineConfig:
    """``PipelineConfig`` from parsed ``model_args``; ``PART.KEY`` entries become ``params``."""
    config: dict[str, Any] = {}
    params: dict[str, dict[str, Any]] = {}
    for key, value in model_args.items():
        part, dot, name = key.partition(".")
        if dot and part in PARTS and name:
            params.setdefault(part, {})[name] = value
        elif key in _CONFIG_KEYS:
            config[key] = value
        else:
            raise InputError(
                f"unknown framesift model_args key {key!r}; use {', '.join(_CONFIG_KEYS)} or "
                f"PART.KEY with PART one of {', '.join(PARTS)}"
            )
    return PipelineConfig(**config, params=params)


def split_options(prompt: str) -> tuple[str, list[str] | None]:
    """(question, options) of a prompt listing lettered options A, B, C... one per line;
    (the prompt, None) when it lists fewer than two."""
    question_lines, options = [], []
    for line in prompt.splitlines():
        match = _OPTION_LINE.match(line)
        if match and len(options) < 26 and match.group(1) == option_letter(len(options)):
            options.append(match.group(2))
        else:
            question_lines.append(line)
    if len(options) < 2:
        return prompt.strip(), None
    return "\n".join(question_lines).strip(), options


def _distinct(options: list[str]) -> tuple[list[str], list[int]]:
    """Options without repeats (compared as ``check_question`` does), and for each kept option
    its index in ``options``."""
    kept: dict[str, int] = {}
    for i, option in enumerate(options):
        kept.setdefault(normalize_text(option), i)
    positions = sorted(kept.values())
    return [options[i] for i in positions], positions


def _cut(reply: str, until: Any) -> str:
    """The reply up to the first stop string, as lmms-eval's own models cut theirs."""
    stops = [until] if isinstance(until, str) else list(until or [])
    for stop in stops:
        if stop:
            reply = reply.split(stop, 1)[0]
    return reply.strip()


class FramesiftLMM(lmms):
    """framesift's pipeline (cached features -> keyframe selection -> compression -> answer)
    behind lmms-eval's model interface; see the module docstring for ``model_args``."""

    is_simple = True

    def __init__(
        self,
        *,
        batch_size: int | str | None = None,
        max_batch_size: int | None = None,
        device: str | None = None,
        **model_args: Any,
    ) -> None:
        super().__init__()
        del batch_size, max_batch_size  # one question at a time; see the module docstring
        if device is not None:
            model_args["device"] = device
        self.pipeline = Pipeline(pipeline_config(model_args))
        self.pipeline.load()  # weights now, so a bad model id fails before any task runs

    def _video(self, request: Instance) -> str:
        _, _, doc_to_visual, doc_id, task, split = request.args
        visuals = doc_to_visual(self.task_dict[task][split][doc_id])
        if len(visuals) != 1 or not isinstance(visuals[0], (str, os.PathLike)):
            raise InputError(
                f"task {task} document {doc_id}: framesift answers about one video file per "
                f"question, the task gave {len(visuals)} visual(s) of type "
                f"{sorted({type(v).__name__ for v in visuals})}"
            )
        return os.fspath(visuals[0])

    def answer(self, request: Instance) -> str:
        """One ``generate_until`` request: the reply lmms-eval scores."""
        context, gen_kwargs = request.args[0], request.args[1]
        video = self._video(request)
        question, options = split_options(context)
        if options is None:
            if not self.pipeline.answerer.open_ended:
                raise InputError(
                    f"task {request.task_name} document {request.doc_id}: the prompt lists no "
                    f"lettered options and answerer {self.pipeline.config.answerer!r} only "
                    "chooses among options; use a generative answerer (answerer=llava-ov)"
                )
            result = self.pipeline.ask(video, question)
            return _cut(result.answer or "", gen_kwargs.get("until"))
        distinct, positions = _distinct(options)
        result = self.pipeline.ask(video, question, distinct)
        if result.answer_index is None or result.answer_index < 0:
            return _cut(result.answer or "", gen_kwargs.get("until"))  # committed to no option
        return option_letter(positions[result.answer_index])

    def generate_until(self, requests: list[Instance]) -> list[str]:
        return [
            self.answer(request)
            for request in tqdm(requests, desc="framesift", disable=self.rank != 0)
        ]

    def score(self, request: Instance) -> tuple[float, bool]:
        """One ``loglikelihood`` request: (negative log-likelihood, is_greedy); see the module
        docstring for the sign."""
        context, continuation, _, doc_id, task, split = request.args
        if callable(continuation):  # output_type loglikelihood passes doc_to_target
            continuation = continuation(self.task_dict[task][split][doc_id])
        logprob, greedy = self.pipeline.loglikelihood(self._video(request), context, continuation)
        return -logprob, greedy

    def loglikelihood(self, requests: list[Instance]) -> list[GenerationResult]:
        """The pairs, each wrapped in ``GenerationResult``: lmms-eval 0.7.3's evaluator passes
        a model output through ``unwrap_generation_output``, which keeps a ``GenerationResult``'s
        content as it is but turns a bare ``(float, bool)`` into its ``str()``, and its
        multiple-choice scoring then fails to unpack the string."""
        return [
            GenerationResult(self.score(request))  # type: ignore[arg-type]
            for request in tqdm(requests, desc="framesift", disable=self.rank != 0)
        ]

    def generate_until_multi_round(self, requests: list[Instance]) -> list[str]:
        raise InputError(
            "framesift answers one question per video; multi-round tasks are not supported"
        )
