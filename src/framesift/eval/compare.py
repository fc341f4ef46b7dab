"""Side-by-side view of eval runs: a markdown table and accuracy against frames per question."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from framesift.eval import runfolder


def load_runs(folders: list[Path]) -> list[dict[str, Any]]:
    runs = []
    for folder in folders:
        results = runfolder.read_results(folder)
        pipeline = results["config"]["pipeline"]
        for benchmark, r in results["results"].items():
            runs.append(
                {
                    "run": folder.name,
                    "benchmark": benchmark,
                    "selector": pipeline["selector"],
                    "budget": pipeline["budget"],
                    "encoder": pipeline["encoder"],
                    **r,
                }
            )
    return runs


def markdown_table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| run | benchmark | selector | K | accuracy | n | errors | frames seen / q "
        "| mean latency (s) | median select (ms) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        latency = r["latency_seconds"]
        total = latency.get("total", {}).get("mean")
        select = latency.get("select", {}).get("median")
        lines.append(
            f"| {r['run']} | {r['benchmark']} | {r['selector']} | {r['budget']} "
            f"| {_pct(r['accuracy'])} | {r['n']} | {r['errors']} "
            f"| {_num(r['frames_seen_per_question'], '.1f')} | {_num(total, '.2f')} "
            f"| {_num(None if select is None else 1000 * select, '.2f')} |"
        )
    return "\n".join(lines)


def plot_accuracy_vs_frames(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6))
    for r in runs:
        if r["accuracy"] is None or r["frames_seen_per_question"] is None:
            continue
        ax.scatter(r["frames_seen_per_question"], 100 * r["accuracy"])
        ax.annotate(
            f"{r['run']} ({r['selector']})",
            (r["frames_seen_per_question"], 100 * r["accuracy"]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    ax.set_xlabel("frames seen per question")
    ax.set_ylabel("accuracy (%)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _num(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)
