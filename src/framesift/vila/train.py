"""Training ViLA: teacher, then student with Frame-Prompter and distillation, on either host.

Stage 1 trains the teacher (Q-Former + answer head over all T frames). Stage 2 initialises the
student from the teacher, freezes the teacher's own copy, and trains the Frame-Prompter,
the student Q-Former, the head and the token-axis lift on ``CE + lambda * MSE``. Everything
reads frozen cached features (the encoder's, and for InstructBLIP its vision tower's), so an
epoch never decodes a video or runs a frozen tower. After every epoch the run writes a
checkpoint (weights as safetensors, optimizer moments as safetensors, progress as JSON);
started again with the same arguments it continues from the last one, and because every
epoch reseeds from (seed, stage, epoch) the resumed run ends with the same weights as an
uninterrupted one.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from framesift.errors import InputError
from framesift.vila.config import TrainConfig, ViLAConfig
from framesift.vila.data import FeatureBatch, load_examples, minibatches
from framesift.vila.prompter import anneal
from framesift.vila.stages import TwoStageViLA, build_vila, default_device

STAGES = ("teacher", "student")


def train_vila(config: TrainConfig, *, stop_after: tuple[str, int] | None = None) -> dict[str, Any]:
    """Run (or resume) both stages; returns the summary also written to ``out/summary.json``.

    ``stop_after=(stage, epoch)`` ends the run after that epoch's checkpoint, as a kill would.
    """
    from framesift.cache import Cache, default_cache_dir
    from framesift.encode import build_encoder

    cache = Cache(config.cache_dir or default_cache_dir())  # a bad folder fails before any output
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    state = _claim(out, config)
    if config.device is None:
        config = replace(config, device=default_device())
    encoder = build_encoder(config.encoder)
    torch.manual_seed(config.seed)  # the initial weights (LoRA's too), so a run is reproducible
    host = None
    if config.model.host_kind == "instructblip":
        from framesift.vila.host_model import load_host

        host = load_host(config.model).to(config.device)
    frames = config.model.teacher_frames
    t0 = time.perf_counter()
    sets = [(config.annotations, config.videos)]
    if config.val_annotations:
        sets.append((config.val_annotations, config.val_videos or config.videos))
    (train, skipped), *validation = [
        load_examples(
            config.benchmark,
            annotations,
            videos,
            encoder,
            cache,
            frames,
            patch_encoder=host,
        )
        for annotations, videos in sets
    ]
    val = validation[0][0] if validation else None
    feature_seconds = time.perf_counter() - t0
    model_config = ViLAConfig(
        **{
            **config.model.to_dict(),
            "embed_dim": train.frames.shape[-1],
            "patch_dim": train.patches.shape[-1],
        }
    )
    if host is None:
        model = build_vila(model_config)
    else:
        from framesift.vila.host_model import InstructBlipViLA

        model = InstructBlipViLA(model_config, host)
    model.to(config.device)
    history = state.setdefault("history", [])
    for stage in STAGES:
        epochs = config.teacher_epochs if stage == "teacher" else config.student_epochs
        done = state["epochs"].get(stage, 0)
        if stage == "student" and done == 0:
            model.init_student_from_teacher()
        optimizer = torch.optim.AdamW(model.trainable_parameters(stage), lr=config.lr)
        if done:
            _load_checkpoint(out, model, optimizer, stage)
        bar = tqdm(total=epochs, initial=done, desc=stage, unit="epoch", disable=None)
        for epoch in range(done, epochs):
            t_epoch = time.perf_counter()
            loss = _epoch(model, optimizer, train, config, stage, epoch, epochs)
            seconds = time.perf_counter() - t_epoch
            accuracy = evaluate(model, val, stage, config) if val is not None else None
            history.append(
                {
                    "stage": stage,
                    "epoch": epoch + 1,
                    "loss": loss,
                    "val": accuracy,
                    "seconds": seconds,
                }
            )
            _print_progress(stage, epoch + 1, epochs, loss, accuracy)
            bar.set_postfix(loss=f"{loss:.3f}", val="-" if accuracy is None else f"{accuracy:.1%}")
            bar.update()
            state["epochs"][stage] = epoch + 1
            _save_checkpoint(out, model, optimizer, stage, state)
            if stop_after == (stage, epoch + 1):
                bar.close()
                return state
        bar.close()
    model.save(out / "model")
    summary = {
        "train_questions": len(train),
        "skipped": skipped,
        "val_questions": len(val) if val is not None else 0,
        "teacher_val_accuracy": None if val is None else evaluate(model, val, "teacher", config),
        "student_val_accuracy": None if val is None else evaluate(model, val, "student", config),
        "feature_seconds": feature_seconds,
        "train_seconds": sum(h["seconds"] for h in history),
        "history": history,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def _epoch(model, optimizer, data: FeatureBatch, config, stage, epoch, epochs) -> float:
    torch.manual_seed(config.seed * 1000 + STAGES.index(stage) * 100 + epoch)  # Gumbel noise
    generator = torch.Generator().manual_seed(config.seed + epoch)
    model.train()
    losses = []
    steps_per_epoch = -(-len(data) // config.batch_size)
    lam = model.config.distill_lambda if config.distill else 0.0
    for step, b in enumerate(minibatches(data, config.batch_size, generator)):
        progress = epoch * steps_per_epoch + step
        tau = anneal(
            progress, epochs * steps_per_epoch, model.config.tau_start, model.config.tau_end
        )
        loss = model.stage_loss(b.to(config.device), stage, tau, lam)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)


@torch.no_grad()
def evaluate(model: TwoStageViLA, data: FeatureBatch, stage: str, config: TrainConfig) -> float:
    """Accuracy with the deterministic (argmax) prompter, a minibatch at a time."""
    model.eval()
    correct = 0
    for b in minibatches(data, config.batch_size):
        logits = model.stage_logits(b.to(config.device), stage)
        correct += int((logits.argmax(-1).cpu() == b.answer).sum())
    return correct / len(data)


def _print_progress(stage, epoch, epochs, loss, accuracy) -> None:
    """One line per epoch on stdout (a log to keep), beside the progress bar on stderr."""
    val = "" if accuracy is None else f"  val acc {accuracy:.1%}"
    tqdm.write(f"[{stage} {epoch:>3}/{epochs}] loss {loss:.4f}{val}")


def _claim(out: Path, config: TrainConfig) -> dict[str, Any]:
    path = out / "state.json"
    identity = json.loads(json.dumps(config.identity()))
    if path.exists():
        state = json.loads(path.read_text())
        if state["config"] != identity:
            raise InputError(
                f"{out} holds a training run with a different configuration; resume with the "
                "same arguments or choose another --out"
            )
        return state
    return {"config": identity, "epochs": {}}


def _save_checkpoint(out: Path, model, optimizer, stage: str, state: dict) -> None:
    from safetensors.torch import save_file

    folder = out / "checkpoint"
    model.save(folder)
    moments = {}
    for i, p in enumerate(optimizer.param_groups[0]["params"]):
        for name, value in optimizer.state.get(p, {}).items():
            moments[f"{i}.{name}"] = torch.as_tensor(value).detach().clone().contiguous()
    save_file(moments, str(folder / "optimizer.safetensors.tmp"))
    os.replace(folder / "optimizer.safetensors.tmp", folder / "optimizer.safetensors")
    state = {**state, "stage": stage}
    (out / "state.json.tmp").write_text(json.dumps(state, indent=1))
    os.replace(out / "state.json.tmp", out / "state.json")  # the commit point


def _load_checkpoint(out: Path, model, optimizer, stage: str) -> None:
    from safetensors.torch import load_file

    folder = out / "checkpoint"
    model.load_weights(folder)
    moments = load_file(str(folder / "optimizer.safetensors"))
    for i, p in enumerate(optimizer.param_groups[0]["params"]):
        names = {k.split(".", 1)[1] for k in moments if k.split(".", 1)[0] == str(i)}
        if names:
            optimizer.state[p] = {n: moments[f"{i}.{n}"] for n in names}
