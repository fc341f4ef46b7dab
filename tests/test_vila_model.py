"""ViLA modules: shapes, the prompter's selection rules, teacher/student separation, the
distillation loss, save/load, and a tiny synthetic task that the teacher and the prompted
student both learn (small dims, a few seconds on CPU)."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from framesift.errors import InputError
from framesift.vila.config import ViLAConfig
from framesift.vila.data import FeatureBatch
from framesift.vila.distill import TokenLift, distill_loss
from framesift.vila.model import ViLAModel
from framesift.vila.prompter import FramePrompter, anneal, gather, selection_indices
from framesift.vila.qformer import AnswerHead, QFormer

D, P, N_OPT = 16, 4, 4  # embed/patch dim, patches per frame, options

TINY = ViLAConfig(
    embed_dim=D,
    patch_dim=D,
    n_query=4,
    hidden=32,
    n_layer=1,
    n_head=2,
    prompter_hidden=32,
    segments=2,
    teacher_frames=8,
)


def needle_batch(g: torch.Generator, B: int, cfg: ViLAConfig = TINY) -> dict[str, torch.Tensor]:
    """A toy long-video question: which option does the frame about the question show?

    One frame, the needle, shows the answer option's embedding plus the question vector; the
    other frames show random vectors. A model must find the question's frame to answer, and a
    student that picks one frame per segment must pick the needle in its segment, which only
    the question tells apart (a question-blind prompter stays at chance).
    """
    T = cfg.teacher_frames
    question = F.normalize(torch.randn(B, D, generator=g), dim=-1)  # (B, D)
    options = F.normalize(torch.randn(B, N_OPT, D, generator=g), dim=-1)  # (B, O, D)
    answer = torch.randint(N_OPT, (B,), generator=g)  # (B,)
    needle = torch.randint(T, (B,), generator=g)  # (B,) frame index
    content = F.normalize(torch.randn(B, T, D, generator=g), dim=-1)  # (B, T, D) distractors
    rows = torch.arange(B)
    content[rows, needle] = options[rows, answer] + question
    patches = 0.1 * torch.randn(B, T, P, D, generator=g)  # (B, T, P, D)
    patches += content[:, :, None]  # every patch shows it, with a little noise
    frames = F.normalize(patches.mean(2), dim=-1)  # (B, T, D) unit norm, like the encoders
    return {
        "frames": frames,
        "patches": patches,
        "question": question,
        "options": options,
        "answer": answer,
        "needle": needle,
    }


def fb(d: dict[str, torch.Tensor], **override: torch.Tensor) -> FeatureBatch:
    """The needle task's tensors as the models' batch type (every option valid)."""
    d = {**d, **override}
    mask = torch.ones(d["options"].shape[:2], dtype=torch.bool)
    return FeatureBatch(
        d["frames"], d["patches"], d["question"], d["options"], mask, d["answer"]
    )  # fmt: skip


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread is several times faster than two on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def batch() -> dict[str, torch.Tensor]:
    return needle_batch(torch.Generator().manual_seed(0), 3)


# --- config -------------------------------------------------------------------------------------


def test_config_round_trip_and_errors():
    assert ViLAConfig.from_dict(TINY.to_dict()) == TINY
    assert ViLAConfig().n_query == 8 and ViLAConfig().segments == 4
    with pytest.raises(InputError, match="unknown ViLAConfig keys"):
        ViLAConfig.from_dict({**TINY.to_dict(), "n_querys": 4})
    with pytest.raises(InputError, match="multiple of segments"):
        ViLAConfig(teacher_frames=10, segments=4)
    with pytest.raises(InputError, match="multiple of n_head"):
        ViLAConfig(hidden=30, n_head=4)


# --- shapes -------------------------------------------------------------------------------------


def test_shapes(batch):
    torch.manual_seed(0)
    model = ViLAModel(TINY)
    B, T, Q, H, S = 3, TINY.teacher_frames, TINY.n_query, TINY.hidden, TINY.segments
    logits, tokens = model.teacher_forward(fb(batch))
    assert logits.shape == (B, N_OPT) and tokens.shape == (B, T * Q, H)
    logits, tokens, idx = model.student_forward(fb(batch))
    assert logits.shape == (B, N_OPT) and tokens.shape == (B, S * Q, H) and idx.shape == (B, S)
    assert idx.dtype == torch.long
    assert model.lift(tokens).shape == (B, T * Q, H)
    three = fb(batch, patches=batch["patches"][:, :3])
    assert model.answer_frames(three, stage="teacher").shape == (B, N_OPT)


def test_qformer_frames_are_independent_and_in_order(batch):
    torch.manual_seed(0)
    qformer = QFormer(TINY).eval()
    patches, question, Q = batch["patches"], batch["question"], TINY.n_query
    tokens = qformer(patches, question)  # (B, T*Q, H)
    alone = qformer(patches[:, 5:6], question)  # frame 5 on its own
    torch.testing.assert_close(tokens[:, 5 * Q : 6 * Q], alone)


def test_answer_head_masks_padded_options(batch):
    torch.manual_seed(0)
    head = AnswerHead(TINY)
    tokens = torch.randn(3, 8, TINY.hidden)
    mask = torch.tensor([[True, True, False, False], [True] * 4, [False, True, True, True]])
    logits = head(tokens, batch["question"], batch["options"], mask)
    assert torch.isinf(logits[~mask]).all() and torch.isfinite(logits[mask]).all()
    loss = F.cross_entropy(logits, torch.tensor([1, 3, 2]))
    loss.backward()  # -inf on padded options must not turn gradients into NaN
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in head.parameters())
    with pytest.raises(AssertionError, match="at least one valid option"):
        head(tokens, batch["question"], batch["options"], torch.zeros(3, N_OPT, dtype=torch.bool))


# --- Frame-Prompter ---------------------------------------------------------------------------


def test_prompter_eval_is_argmax_one_per_segment_in_order(batch):
    torch.manual_seed(0)
    prompter = FramePrompter(TINY).eval()
    frames, question = batch["frames"], batch["question"]
    S, L = TINY.segments, TINY.frames_per_segment
    torch.manual_seed(1)
    first = prompter(frames, question)  # (B, S, L)
    torch.manual_seed(2)  # another global seed: eval draws no noise, so nothing changes
    second = prompter(frames, question)
    assert torch.equal(first, second)
    assert first.shape == (3, S, L) and torch.equal(first.sum(-1), torch.ones(3, S))
    idx = selection_indices(first)
    assert torch.equal(idx, prompter.select(frames, question))
    expected = prompter.scores(frames, question).view(3, S, L).argmax(-1) + torch.arange(S) * L
    assert torch.equal(idx, expected)
    assert (idx.diff(dim=1) > 0).all(), "picks must come out in temporal order"
    assert torch.equal(idx // L, torch.arange(S).expand(3, S)), "one pick per segment"
    prompter.train()  # select() is deterministic in either mode
    assert torch.equal(prompter.select(frames, question), idx)


def test_prompter_training_is_straight_through_one_hot(batch):
    torch.manual_seed(0)
    prompter = FramePrompter(TINY).train()
    frames, question = batch["frames"], batch["question"]
    g = torch.Generator().manual_seed(3)
    selection = prompter(frames, question, tau=0.5, generator=g)  # (B, S, L)
    assert torch.allclose(selection.sum(-1), torch.ones(3, TINY.segments))
    assert ((selection - selection.round()).abs() < 1e-6).all(), "values must be one-hot"
    again = prompter(frames, question, tau=0.5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(selection, again), "same generator seed, same sample"
    picked = gather(selection, batch["patches"])  # (B, S, P, D)
    assert picked.shape == (3, TINY.segments, P, D)
    idx = selection_indices(selection)
    exact = batch["patches"][torch.arange(3)[:, None], idx]
    torch.testing.assert_close(picked, exact, atol=1e-5, rtol=0)
    (picked * torch.randn_like(picked)).sum().backward()
    for p in prompter.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, "scorer gets no gradient"


def test_prompter_is_question_conditioned(batch):
    torch.manual_seed(0)
    prompter = FramePrompter(TINY)
    frames = batch["frames"]
    a = prompter.scores(frames, batch["question"])
    b = prompter.scores(frames, batch["question"].roll(1, dims=0))
    assert a.shape == (3, TINY.teacher_frames)
    assert not torch.allclose(a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True))


def test_prompter_rejects_unequal_segments(batch):
    prompter = FramePrompter(TINY)
    with pytest.raises(AssertionError, match="equal segments"):
        prompter(batch["frames"][:, :7], batch["question"])


def test_anneal_is_exponential():
    assert anneal(0, 100, 1.0, 0.01) == 1.0
    assert math.isclose(anneal(100, 100, 1.0, 0.01), 0.01)
    assert math.isclose(anneal(50, 100, 1.0, 0.01), 0.1)
    assert math.isclose(anneal(500, 100, 1.0, 0.01), 0.01)  # clamps past the end


# --- distillation ----------------------------------------------------------------------------


def test_token_lift_starts_as_nearest_segment_copy():
    lift = TokenLift(TINY)
    S, Q, H, L = TINY.segments, TINY.n_query, TINY.hidden, TINY.frames_per_segment
    student = torch.randn(2, S * Q, H)
    lifted = lift(student).view(2, TINY.teacher_frames, Q, H)
    for t in range(TINY.teacher_frames):
        torch.testing.assert_close(lifted[:, t], student.view(2, S, Q, H)[:, t // L])


def test_distill_loss_is_ce_plus_lambda_mse():
    torch.manual_seed(0)
    logits, target = torch.randn(4, N_OPT), torch.tensor([0, 1, 2, 3])
    teacher = torch.randn(4, 16, 8, requires_grad=True)
    student = torch.randn(4, 16, 8, requires_grad=True)
    out = distill_loss(logits, target, teacher, student, lam=0.01)
    ce = F.cross_entropy(logits, target)
    mse = ((teacher - student) ** 2).mean()
    torch.testing.assert_close(out["ce"], ce)
    torch.testing.assert_close(out["mse"], mse)
    torch.testing.assert_close(out["loss"], ce + 0.01 * mse)
    out["loss"].backward()
    assert teacher.grad is None and student.grad is not None, "teacher tokens must be detached"


def test_student_step_leaves_the_frozen_teacher_alone(batch):
    torch.manual_seed(0)
    model = ViLAModel(TINY)
    model.init_student_from_teacher()
    teacher = {**dict(model.teacher_qformer.named_parameters(prefix="qformer"))}
    teacher |= dict(model.teacher_head.named_parameters(prefix="head"))
    student = {**dict(model.student_qformer.named_parameters(prefix="qformer"))}
    student |= dict(model.student_head.named_parameters(prefix="head"))
    # the copy holds equal values in distinct tensors: no shared parameter anywhere
    assert {id(p) for p in teacher.values()}.isdisjoint(id(p) for p in student.values())
    assert {p.data_ptr() for p in teacher.values()}.isdisjoint(
        p.data_ptr() for p in model.trainable_parameters("student")
    )
    for name, p in teacher.items():
        assert torch.equal(p, student[name])
    before = {k: v.detach().clone() for k, v in teacher.items()}
    optimizer = torch.optim.Adam(model.trainable_parameters("student"), lr=1e-2)
    model.train()
    assert not model.teacher_qformer.training and not model.teacher_head.training
    assert all(not p.requires_grad for p in teacher.values())
    out = model.distillation_forward(fb(batch), tau=1.0)
    out["loss"].backward()
    assert all(p.grad is None for p in teacher.values())
    optimizer.step()
    for name, p in teacher.items():
        assert torch.equal(p, before[name]), f"teacher {name} changed in a student step"
    assert any(not torch.equal(p, student[n]) for n, p in before.items() if n in student)
    assert torch.isfinite(out["loss"])
    torch.testing.assert_close(out["loss"], out["ce"] + TINY.distill_lambda * out["mse"])


def test_distillation_needs_a_frozen_teacher(batch):
    model = ViLAModel(TINY)
    with pytest.raises(AssertionError, match="teacher must be frozen"):
        model.distillation_forward(fb(batch))
    with pytest.raises(InputError, match="unknown ViLA training stage"):
        model.trainable_parameters("both")


# --- save / load ------------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path, batch):
    torch.manual_seed(0)
    model = ViLAModel(TINY).eval()
    model.save(tmp_path / "m")
    loaded = ViLAModel.load(tmp_path / "m", TINY)
    assert loaded.config == TINY and not loaded.training
    for (k, v), (k2, v2) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert k == k2 and torch.equal(v, v2)
    a, b = model.student_forward(fb(batch)), loaded.student_forward(fb(batch))
    assert torch.equal(a[0], b[0]) and torch.equal(a[2], b[2])

    with pytest.raises(InputError, match="another config"):
        ViLAModel.load(tmp_path / "m", ViLAConfig(**{**TINY.to_dict(), "hidden": 64}))
    with pytest.raises(InputError, match="not found"):
        ViLAModel.load(tmp_path / "missing")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    (tmp_path / "m" / "config.json").write_text(json.dumps({**config, "n_query": 2}))
    with pytest.raises(InputError, match=r"does not match its config\.json"):
        ViLAModel.load(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text(json.dumps({**config, "extra": 1}))
    with pytest.raises(InputError, match="unknown ViLAConfig keys"):
        ViLAModel.load(tmp_path / "m")


# --- learning ----------------------------------------------------------------------------------


def test_teacher_then_prompted_student_learn_the_needle_task():
    """Stage 1 teaches the teacher to answer from all frames; stage 3 teaches the prompter to
    pick the needle frame, which only the question identifies, and the student to answer."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    model = ViLAModel(TINY)
    test = needle_batch(torch.Generator().manual_seed(123), 256)

    optimizer = torch.optim.Adam(model.trainable_parameters("teacher"), lr=5e-3)
    model.train()
    for _ in range(200):
        b = needle_batch(g, 32)
        logits, _ = model.teacher_forward(fb(b))
        loss = F.cross_entropy(logits, b["answer"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        teacher_acc = model.teacher_forward(fb(test))[0].argmax(-1) == test["answer"]
    assert teacher_acc.float().mean() > 0.6, f"teacher accuracy {teacher_acc.float().mean()}"

    model.init_student_from_teacher()
    L = TINY.frames_per_segment
    with torch.no_grad():
        untrained = model.student_forward(fb(test))[2]
    optimizer = torch.optim.Adam(model.trainable_parameters("student"), lr=5e-3)
    model.train()
    steps = 100
    for step in range(steps):
        b = needle_batch(g, 32)
        tau = anneal(step, steps, 1.0, 0.1)
        out = model.distillation_forward(fb(b), tau, generator=g)
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        logits, _, idx = model.student_forward(fb(test))
    # the needle's segment must have picked the needle (chance: 1 / L)
    picked = idx[torch.arange(256), test["needle"] // L]
    hit = (picked == test["needle"]).float().mean()
    before = (untrained[torch.arange(256), test["needle"] // L] == test["needle"]).float().mean()
    student_acc = (logits.argmax(-1) == test["answer"]).float().mean()
    assert hit > 0.8, f"needle picked {hit:.0%} (before training {before:.0%}, chance {1 / L:.0%})"
    assert student_acc > 0.6, f"student accuracy {student_acc:.0%}"
