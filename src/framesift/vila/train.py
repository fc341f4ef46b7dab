"""Training ViLA on this machine: teacher, then student with Frame-Prompter and distillation.

Stage 1 trains the teacher (Q-Former + answer head over all T frames). Stage 2 initialises the
student from the teacher, freezes the teacher's own copy, and trains the Frame-Prompter,
the student Q-Former, the head and the token-axis lift on ``CE + lambda * MSE``. Everything
reads frozen cached features, so an epoch is a few matrix products per question, never a
decode. After every epoch the run writes a checkpoint (weights as safetensors, optimizer
moments as safetensors, progress as JSON); started again with the same arguments it
continues from the last one, and because every epoch reseeds from (seed, stage, epoch) the
resumed run ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from framesift.errors import InputError
from framesift.vila.config import ViLAConfig
from framesift.vila.data import FeatureBatch, load_examples, minibatches
from framesift.vila.model import ViLAModel
from framesift.vila.prompter import anneal

STAGES = ("teacher", "student")


@dataclass(frozen=True)
class TrainConfig:
    benchmark: str
    annotations: str
    videos: str
    out: str
    val_annotations: str | None = None
    val_videos: str | None = None
    encoder: str = "bundled"
    cache_dir: str | None = None
    teacher_epochs: int = 10
    student_epochs: int = 10
    batch_size: int = 32
    lr: float = 3e-4
    seed: int = 0
    distill: bool = True  # False: the student learns from the answer loss alone (ablation)
    model: ViLAConfig = field(default_factory=ViLAConfig)

    def identity(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("out"), d.pop("cache_dir")
        return d


def train_vila(config: TrainConfig, *, stop_after: tuple[str, int] | None = None) -> dict[str, Any]:
    """Run (or resume) both stages; returns the summary also written to ``out/summary.json``.

    ``stop_after=(stage, epoch)`` ends the run after that epoch's checkpoint, as a kill would.
    """
    from framesift.cache import FeatureCache, default_cache_dir
    from framesift.encode import build_encoder

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    state = _claim(out, config)
    encoder = build_encoder(config.encoder)
    cache = FeatureCache(Path(config.cache_dir or default_cache_dir()) / "features")
    frames = config.model.teacher_frames
    t0 = time.perf_counter()
    train, skipped = load_examples(
        config.benchmark, config.annotations, config.videos, encoder, cache, frames
    )
    val = None
    if config.val_annotations:
        val, _ = load_examples(
            config.benchmark,
            config.val_annotations,
            config.val_videos or config.videos,
            encoder,
            cache,
            frames,
        )
    feature_seconds = time.perf_counter() - t0
    model_config = ViLAConfig(
        **{
            **config.model.to_dict(),
            "embed_dim": train.frames.shape[-1],
            "patch_dim": train.patches.shape[-1],
        }
    )
    torch.manual_seed(config.seed)  # the initial weights, so a run is reproducible
    model = ViLAModel(model_config)
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
            accuracy = evaluate(model, val, stage) if val is not None else None
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
        "teacher_val_accuracy": evaluate(model, val, "teacher") if val is not None else None,
        "student_val_accuracy": evaluate(model, val, "student") if val is not None else None,
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
    for step, b in enumerate(minibatches(data, config.batch_size, generator)):
        if stage == "teacher":
            logits, _ = model.teacher_forward(b.patches, b.question, b.options, b.option_mask)
            loss = F.cross_entropy(logits, b.answer)
        else:
            progress = epoch * steps_per_epoch + step
            tau = anneal(
                progress, epochs * steps_per_epoch, model.config.tau_start, model.config.tau_end
            )
            lam = model.config.distill_lambda if config.distill else 0.0
            loss = model.distillation_forward(
                b.frames, b.patches, b.question, b.options, b.option_mask, b.answer, tau, lam
            )["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)


@torch.no_grad()
def evaluate(model: ViLAModel, data: FeatureBatch | None, stage: str) -> float | None:
    """Accuracy with the deterministic (argmax) prompter."""
    if data is None:
        return None
    model.eval()
    if stage == "teacher":
        logits, _ = model.teacher_forward(
            data.patches, data.question, data.options, data.option_mask
        )
    else:
        logits, _, _ = model.student_forward(
            data.frames, data.patches, data.question, data.options, data.option_mask, tau=1.0
        )
    return float((logits.argmax(-1) == data.answer).float().mean())


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
    model.load_state_dict(ViLAModel.load(folder).state_dict())
    moments = load_file(str(folder / "optimizer.safetensors"))
    for i, p in enumerate(optimizer.param_groups[0]["params"]):
        names = {k.split(".", 1)[1] for k in moments if k.split(".", 1)[0] == str(i)}
        if names:
            optimizer.state[p] = {n: moments[f"{i}.{n}"] for n in names}
