"""InstructBLIP-Video host for ViLA on tiny random models (T5 and OPT language models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tiny_models import save_tiny_instructblip_video

from framesift.decode import Resize
from framesift.errors import InputError
from framesift.vila.instructblip import InstructBlipVideoHost, qa_text

CLIP_MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 1, 3, 1, 1)
CLIP_STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 1, 3, 1, 1)
QUESTIONS = ["What is the cat doing?", "Why did the man in the red coat jump over the fence?"]
OPTIONS = [["sleeping", "eating", "running"], ["to escape", "for fun"]]


@pytest.fixture(scope="module", params=["t5", "opt"])
def folder(request, tmp_path_factory):
    return save_tiny_instructblip_video(tmp_path_factory.mktemp(request.param), request.param)


@pytest.fixture(scope="module")
def host(folder):
    return InstructBlipVideoHost(str(folder))


@pytest.fixture(scope="module")
def pixels():
    return np.random.default_rng(0).integers(0, 256, (2, 3, 32, 32, 3), dtype=np.uint8)


def test_visual_tokens_are_the_models_video_features_in_frame_order(host, pixels):
    assert host.resize == Resize(32, 32)
    with torch.no_grad():
        tokens = host.visual_tokens(pixels, QUESTIONS)
        assert tokens.shape == (2, 3 * 4, 32)  # (B, F*Q, H_lm)
        # The model's own path, normalised with the CLIP statistics the config holds.
        x = torch.from_numpy(pixels).permute(0, 1, 4, 2, 3).float() / 255
        text = host.qformer_tokenizer(QUESTIONS, padding=True, return_tensors="pt")
        ref = host.model.get_video_features(
            pixel_values=(x - CLIP_MEAN) / CLIP_STD,
            qformer_input_ids=text.input_ids,
            qformer_attention_mask=text.attention_mask,
        ).pooler_output
        torch.testing.assert_close(tokens, ref)
        second = host.visual_tokens(pixels[:, 1:2], QUESTIONS)  # frame 1 alone
        torch.testing.assert_close(tokens[:, 4:8], second)
    with pytest.raises(InputError, match="32, 32, 3"):
        host.visual_tokens(pixels[..., :16, :], QUESTIONS)


def test_answer_logits_are_the_letter_log_probabilities(host, pixels):
    """Batched, padded scoring equals the model's own forward (video placeholders in the
    prompt) on each question alone."""
    with torch.no_grad():
        tokens = host.visual_tokens(pixels, QUESTIONS)
        scores = host.answer_logits(tokens, QUESTIONS, OPTIONS)
        assert scores.shape == (2, 3) and scores[1, 2] == float("-inf")
        assert torch.isfinite(scores[0]).all() and (scores[0] < 0).all()
        prefix, letters = host._answer_ids(3)
        lm_config = host.model.config.text_config
        for b in range(2):
            ids = host.tokenizer(qa_text(QUESTIONS[b], OPTIONS[b])).input_ids
            decoder = None
            if lm_config.is_encoder_decoder:
                decoder = torch.tensor([[lm_config.decoder_start_token_id, *prefix]])
            else:
                ids += prefix
            x = torch.from_numpy(pixels[b : b + 1]).permute(0, 1, 4, 2, 3).float() / 255
            q = host.qformer_tokenizer(QUESTIONS[b : b + 1], return_tensors="pt")
            out = host.model(
                pixel_values=(x - CLIP_MEAN) / CLIP_STD,
                qformer_input_ids=q.input_ids,
                input_ids=torch.tensor([[1] * tokens.shape[1] + ids]),
                decoder_input_ids=decoder,
            )
            ref = out.logits[0, -1].log_softmax(-1)[letters[: len(OPTIONS[b])]]
            torch.testing.assert_close(scores[b, : len(OPTIONS[b])], ref, atol=1e-5, rtol=1e-5)


def test_frozen_and_trainable_parts(folder, host):
    m = host.model
    trainable = {id(p) for p in host.trainable_parameters()}
    assert all(p.requires_grad for p in host.trainable_parameters())
    assert not any(p.requires_grad for p in m.vision_model.parameters())
    assert not any(p.requires_grad for p in m.language_model.parameters())
    assert {id(p) for p in host.parameters() if p.requires_grad} == trainable
    with_lora = InstructBlipVideoHost(str(folder), lora=True, lora_rank=4)
    lora = [(n, p) for n, p in with_lora.model.language_model.named_parameters() if "lora_" in n]
    assert lora and all(p.requires_grad for _, p in lora)
    assert len(with_lora.trainable_parameters()) == len(host.trainable_parameters()) + len(lora)
    base = [p for n, p in with_lora.model.language_model.named_parameters() if "lora_" not in n]
    assert not any(p.requires_grad for p in base)
    assert with_lora.train().model.vision_model.training is False  # frozen tower stays in eval
    assert with_lora.model.qformer.training


def test_a_training_step_changes_only_trainable_parameters(folder, pixels):
    host = InstructBlipVideoHost(str(folder), lora=True, lora_rank=4).train()
    before = {n: p.detach().clone() for n, p in host.named_parameters()}
    trainable = {id(p) for p in host.trainable_parameters()}
    optimizer = torch.optim.SGD(host.trainable_parameters(), lr=0.5)
    tokens = host.visual_tokens(pixels, QUESTIONS)
    loss = F.cross_entropy(host.answer_logits(tokens, QUESTIONS, OPTIONS), torch.tensor([2, 0]))
    loss.backward()
    optimizer.step()
    changed = {n for n, p in host.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(id(dict(host.named_parameters())[n]) in trainable for n in changed)
    assert "model.query_tokens" in changed
    assert any(n.startswith("model.language_projection") for n in changed)
    assert any(n.startswith("model.qformer") for n in changed)
    assert any("lora_B" in n for n in changed)  # lora_A moves from the second step (B starts at 0)
