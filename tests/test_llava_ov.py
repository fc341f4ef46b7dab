"""LLaVA-OneVision token answerer on a tiny random model saved the way the hub serves one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_models import save_tiny_llava_onevision

from framesift import Pipeline
from framesift.answer import AnswerRequest, Evidence
from framesift.answer.llava_ov import LlavaOneVisionAnswerer
from framesift.compress import MERGERS, compress_frames
from framesift.decode import Resize
from framesift.errors import InputError

CLIP_MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
CLIP_STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
QUESTION, OPTIONS = "What is the cat doing?", ["sleeping", "eating", "running"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_tiny_llava_onevision(tmp_path_factory.mktemp("llava_ov"))


@pytest.fixture(scope="module")
def answerer(folder):
    return LlavaOneVisionAnswerer(str(folder), max_new_tokens=4, device="cpu")


@pytest.fixture(scope="module")
def frames():
    return np.random.default_rng(0).integers(0, 256, (6, 40, 40, 3), dtype=np.uint8)


def _sequence(answerer, frames, keyframes, merger="dfm"):
    patches = answerer.patch_encoder.encode_patches(frames)  # (N, P, D)
    query = answerer.patch_encoder.embed_query(QUESTION)  # (D,)
    times = np.arange(len(frames)) * 2.0
    return compress_frames(patches, times, np.asarray(keyframes), query, MERGERS.build(merger))


def _answer(answerer, question, options, sequence):
    evidence = Evidence("clip.mp4", sequence.times[:0], np.zeros((0, 1)), np.zeros(0))
    return answerer.answer(AnswerRequest(question, options, evidence, sequence))


def _captured_inputs(answerer, *args):
    """The inputs_embeds the language model receives first (the whole prompt), and the answer."""
    seen = []

    def hook(_module, _args, kwargs):
        seen.append(kwargs["inputs_embeds"].detach().clone())

    handle = answerer.model.model.language_model.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        answer = _answer(answerer, *args)
    finally:
        handle.remove()
    return seen[0][0], answer  # (L, D)


def test_patch_encoder_shapes_and_name(answerer, folder, frames):
    enc = answerer.patch_encoder
    assert enc.resize == Resize(40, 40)
    assert enc.name.startswith(f"llava-ov:{folder}@local-")
    patches = enc.encode_patches(frames)
    assert patches.shape == (6, 9, 32) and patches.dtype == np.float32  # 5x5 grid -> ceil 3x3
    assert enc.tokens_per_frame == 9
    enc.batch_size = 4  # batching must not change the tokens
    np.testing.assert_allclose(enc.encode_patches(frames), patches, atol=1e-5)
    enc.batch_size = 16
    query = enc.embed_query(QUESTION)
    assert query.shape == (32,) and query.dtype == np.float32
    with pytest.raises(InputError, match="40, 40, 3"):
        enc.encode_patches(frames[:, :32])


def test_tokens_match_the_transformers_video_path(answerer, frames):
    """All frames as keyframes: our inputs_embeds give the logits of the model's own video path
    (placeholder tokens + pixel_values_videos), which checks normalisation, layer, projector,
    pooling, image_newline and where the block sits."""
    seq = _sequence(answerer, frames, np.arange(len(frames)))
    layout = answerer.prompt_layout(QUESTION, OPTIONS, seq)
    video_id = answerer.model.config.video_token_id
    ids = torch.cat(
        [layout.prefix_ids, torch.full((layout.n_visual,), video_id), layout.suffix_ids]
    )[None]  # (1, L)
    pixels = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
    pixels = ((pixels - CLIP_MEAN) / CLIP_STD)[None]  # (1, N, 3, H, W)
    with torch.inference_mode():
        reference = answerer.model(input_ids=ids, pixel_values_videos=pixels).logits[0, -1]
        embeds = answerer._inputs_embeds(layout, seq)
        ours = answerer.model(inputs_embeds=embeds).logits[0, -1]
    torch.testing.assert_close(ours, reference, atol=1e-4, rtol=1e-4)


def test_model_input_layout(answerer, frames):
    seq = _sequence(answerer, frames, [1, 4])
    T = len(seq.embeddings)
    assert T == 2 * 9 + 4  # two full keyframes, four merged frames
    layout = answerer.prompt_layout(QUESTION, OPTIONS, seq)
    assert layout.n_visual == T + 1
    answerer.mode = "likelihood"
    received, _ = _captured_inputs(answerer, QUESTION, OPTIONS, seq)
    start = layout.n_before
    assert received.shape == (layout.n_before + T + 1 + layout.n_after, 32)
    torch.testing.assert_close(received[start : start + T], seq.embeddings)  # temporal order
    torch.testing.assert_close(received[start + T], answerer.model.model.image_newline.detach())
    embed = answerer.model.get_input_embeddings()
    torch.testing.assert_close(received[:start], embed(layout.prefix_ids).detach())
    torch.testing.assert_close(received[start + T + 1 :], embed(layout.suffix_ids).detach())
    assert torch.all(seq.frame_of_token.diff() >= 0)
    suffix = answerer.tokenizer.decode(layout.suffix_ids)
    assert "keyframes at 2. 0, 8. 0 s" in suffix and "6 frames" in suffix  # MiniLM spacing
    assert "a. sleeping" in suffix and "c. running" in suffix


@pytest.mark.parametrize("mode", ["letter", "likelihood"])
def test_modes_answer_deterministically(answerer, frames, mode):
    seq = _sequence(answerer, frames, [0, 3])
    answerer.mode = mode
    first = _answer(answerer, QUESTION, OPTIONS, seq)
    assert first == _answer(answerer, QUESTION, OPTIONS, seq)
    if mode == "likelihood":
        assert 0 <= first.index < 3 and first.text == OPTIONS[first.index]
        assert len(first.option_scores) == 3 and first.index == int(np.argmax(first.option_scores))
    else:  # a random model rarely names a letter: then index -1 and the reply kept
        assert first.option_scores == []
        assert first.index == -1 or first.text == OPTIONS[first.index]


def test_letter_mode_reads_the_reply(answerer, frames, monkeypatch):
    seq = _sequence(answerer, frames, [2])
    answerer.mode = "letter"
    monkeypatch.setattr(answerer, "_generate", lambda *_: "The answer is (B).")
    assert _answer(answerer, QUESTION, OPTIONS, seq).index == 1
    monkeypatch.setattr(answerer, "_generate", lambda *_: "maybe a dog")
    answer = _answer(answerer, QUESTION, OPTIONS, seq)
    assert (answer.index, answer.text, answer.option_scores) == (-1, "maybe a dog", [])


def test_open_ended_generates(answerer, frames):
    seq = _sequence(answerer, frames, [0, 5], merger="drop")
    answerer.mode = "likelihood"  # open-ended questions generate whatever the mode
    answer = _answer(answerer, "Describe the video.", [], seq)
    assert answer.index == -1 and answer.option_scores == [] and isinstance(answer.text, str)
    assert answer == _answer(answerer, "Describe the video.", [], seq)


def test_rejects_bad_arguments(folder, answerer, frames):
    with pytest.raises(InputError, match="mode"):
        LlavaOneVisionAnswerer(str(folder), mode="sample")
    seq = _sequence(answerer, frames, [0])
    with pytest.raises(InputError, match="2 or more"):
        _answer(answerer, QUESTION, ["only"], seq)


def _reference_loglikelihood(answerer, request, continuation):
    """By hand: the whole embedded sequence (prompt, then the continuation's token embeddings)
    through the model once, log-softmax of every position's logits, the continuation tokens'
    log-probabilities summed; is_greedy from the argmax at the same positions."""
    ids = answerer.tokenizer(continuation, add_special_tokens=False, return_tensors="pt")
    ids = ids.input_ids[0]  # (C,)
    layout = answerer.prompt_layout(request.question, request.options, request.tokens)
    with torch.inference_mode():
        prompt = answerer._inputs_embeds(layout, request.tokens)[0]  # (L, D)
        full = torch.cat([prompt, answerer.model.get_input_embeddings()(ids)])[None]
        logits = answerer.model(inputs_embeds=full).logits[0].double()  # (L + C, V)
    rows = logits[layout.length - 1 : layout.length - 1 + len(ids)]  # (C, V): row i predicts i
    logprob = sum(float(rows[i].log_softmax(-1)[t]) for i, t in enumerate(ids))
    return logprob, bool((rows.argmax(-1) == ids).all())


@pytest.mark.parametrize("options", [[], OPTIONS])
def test_loglikelihood_equals_the_model_logits(answerer, frames, options):
    seq = _sequence(answerer, frames, [1, 4])
    evidence = Evidence("clip.mp4", seq.times[:0], np.zeros((0, 1)), np.zeros(0))
    request = AnswerRequest(QUESTION, options, evidence, seq)
    scores = {}
    for continuation in ["it is sleeping", "B"]:
        scores[continuation] = logprob, greedy = answerer.loglikelihood(request, continuation)
        expected, expected_greedy = _reference_loglikelihood(answerer, request, continuation)
        assert logprob == pytest.approx(expected, abs=1e-4) and logprob < 0
        assert greedy is expected_greedy
    assert scores["it is sleeping"][0] < scores["B"][0]  # three tokens against one
    assert answerer.loglikelihood(request, "it is sleeping") == scores["it is sleeping"]
    with pytest.raises(InputError, match="continuation is empty"):
        answerer.loglikelihood(request, "  ")


def test_loglikelihood_tells_a_greedy_reply(folder, frames):
    """A copy of the model whose output row for "sleeping" is twice the one of its greedy
    first token, so "sleeping" becomes the greedy reply: is_greedy holds for it alone."""
    answerer = LlavaOneVisionAnswerer(str(folder), device="cpu")  # its own copy of the model
    seq = _sequence(answerer, frames, [0, 3])
    evidence = Evidence("clip.mp4", seq.times[:0], np.zeros((0, 1)), np.zeros(0))
    request = AnswerRequest(QUESTION, [], evidence, seq)
    with torch.inference_mode():
        embeds = answerer._inputs_embeds(answerer.prompt_layout(QUESTION, [], seq), seq)
        first = int(answerer.model(inputs_embeds=embeds).logits[0, -1].argmax())
        sleeping = answerer.tokenizer.convert_tokens_to_ids("sleeping")
        answerer.model.lm_head.weight[sleeping] = 2 * answerer.model.lm_head.weight[first]
    logprob, greedy = answerer.loglikelihood(request, "sleeping")
    assert greedy and (logprob, greedy) == pytest.approx(
        _reference_loglikelihood(answerer, request, "sleeping"), abs=1e-4
    )
    assert (
        answerer.loglikelihood(request, "sleeping sleeping")[1]
        is _reference_loglikelihood(answerer, request, "sleeping sleeping")[1]
    )
    assert answerer.loglikelihood(request, "running")[1] is False


def test_pipeline_loglikelihood_scores_the_reply_ask_would_give(folder, cfr_video, tmp_path):
    """The Pipeline poses the context as ``ask`` poses an open-ended question: the model reads
    the same prompt (same keyframes and tokens) with the continuation after it."""
    pipe = Pipeline(
        answerer=f"llava-ov:{folder}", budget=2, frames=6, device="cpu", dtype="float32",
        cache_dir=str(tmp_path), params={"answerer": {"max_new_tokens": 1}},
    )  # fmt: skip
    seen = []
    hook = pipe.answerer.model.model.language_model.register_forward_pre_hook(
        lambda _module, _args, kwargs: seen.append(kwargs["inputs_embeds"][0].clone()),
        with_kwargs=True,
    )
    try:
        pipe.ask(cfr_video, QUESTION)
        logprob, greedy = pipe.loglikelihood(cfr_video, QUESTION, "it is sleeping")
    finally:
        hook.remove()
    asked, scored = seen[0], seen[-1]  # the first generation step reads the whole prompt
    n_continuation = len(pipe.answerer.vlm.ids("it is sleeping"))
    assert scored.shape[0] == asked.shape[0] + n_continuation
    torch.testing.assert_close(scored[: asked.shape[0]], asked)
    assert logprob < 0 and greedy is False
    again = Pipeline(pipe.config).loglikelihood(cfr_video, QUESTION, "it is sleeping")
    assert again == pytest.approx((logprob, greedy), abs=1e-5)  # a new pipeline, cached features


def test_pipeline_loglikelihood_needs_an_answerer_that_scores_text(cfr_video, tmp_path):
    pipe = Pipeline(budget=2, frames=6, cache_dir=str(tmp_path))
    with pytest.raises(InputError, match="'similarity' cannot score") as error:
        pipe.loglikelihood(cfr_video, QUESTION, "sleeping")
    assert "llava-ov, llava-ov-likelihood, qwen2.5-vl" in str(error.value)
