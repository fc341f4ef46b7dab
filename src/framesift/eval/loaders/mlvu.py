"""MLVU dev multiple-choice tasks (4 to 6 options; long videos).

MLVU ships one JSON array per task (``MLVU/json/1_plotQA.json`` ... ``7_topic_reasoning.json``;
the same files are in FlagOpen/FlagEmbedding ``research/MLVU/data``) whose videos sit in a folder
of the same name (``MLVU/video/1_plotQA/``). An entry::

    {"video": "movie101_66.mp4", "duration": 246, "question": "...",
     "candidates": ["Yellow", "Red", "Green", "Blue"], "answer": "Yellow",
     "question_type": "plotQA"}

``annotations`` is one task file or the ``json`` folder; in a folder, the open-ended generation
tasks (``*sub_scene.json``, ``*summary.json``, which have no candidates) are left out, as MLVU's
own multiple-choice evaluation does. Entries have no id: the qid is ``<task file stem>_<index>``
(a framesift convention), and ``video`` is ``<task file stem>/<video>``, relative to
``MLVU/video``; ``video_file`` also tries the bare name.

The released dev set breaks its own rules in a few entries, and MLVU's ``choice_bench.py``
(JUNJIE99/MLVU) scores them anyway; so does this loader, marking each in ``QASample.issues``:
the gold option is the *last* candidate equal to ``answer`` (exact text, so with duplicate
candidates the later copy is right); an ``answer`` equal to no candidate leaves no right option
(``answer=None``: every reply is wrong, as ``choice_bench`` never matches its ``"@"`` letter); an
empty question or candidate is asked as it stands in MLVU's prompt, here with the stand-in
``EMPTY_QUESTION`` / ``EMPTY_OPTION`` since a pipeline needs text. Task names are MLVU's and
lmms-eval's (``needle``, not the files' ``findNeedle``); the headline number is lmms-eval's
``mlvu_percetion_score`` (its spelling), the mean of the task accuracies in percent (over the
tasks in the run; lmms-eval divides by all seven, the same number on the whole dev set). The
Hugging Face parquet used by lmms-eval (options folded into the question text) is not read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from framesift.errors import InputError
from framesift.eval.loaders import Metric
from framesift.eval.loaders._common import (
    BaseBenchmark,
    Record,
    field,
    find_video,
    optional_text,
    text,
)
from framesift.eval.samples import QASample

GENERATION_TASKS = ("sub_scene", "summary")
TASK_NAMES = {"findNeedle": "needle"}  # question_type spellings that differ from the task name
EMPTY_QUESTION = "Which option is right?"
EMPTY_OPTION = "(empty)"


class MLVU(BaseBenchmark):
    name = "mlvu"
    breakdown_keys = ("question_type",)
    metric = Metric("mlvu_percetion_score", scale=100, mean_over_types=True)

    def load(self, annotations: Path) -> Iterator[QASample]:
        path = Path(annotations)
        if not path.is_dir():
            return super().load(path)
        files = [f for f in sorted(path.glob("*.json")) if not f.stem.endswith(GENERATION_TASKS)]
        if not files:
            raise InputError(f"no MLVU multiple-choice task files (*.json) in {path}")
        self.skipped = 0
        return self._samples(files)

    def parse(self, rec: Record, index: int, source: Path) -> QASample | None:
        candidates = field(rec, "candidates")
        answer = field(rec, "answer")
        if not isinstance(candidates, list) or not all(isinstance(c, str) for c in candidates):
            raise InputError(f"candidates must be a list of texts, got {candidates!r}")
        matches = [i for i, c in enumerate(candidates) if c == answer]
        question = str(field(rec, "question")).strip()
        issues = {
            "duplicate_options": len(set(candidates)) < len(candidates),
            "answer_not_in_options": not matches,
            "empty_question": not question,
            "empty_option": any(not c.strip() for c in candidates),
        }
        qtype = optional_text(rec, "question_type") or source.stem.split("_", 1)[-1]
        return QASample(
            qid=f"{source.stem}_{index}",
            video=f"{source.stem}/{text(rec, 'video')}",
            question=question or EMPTY_QUESTION,
            options=tuple(c.strip() or EMPTY_OPTION for c in candidates),
            answer=matches[-1] if matches else None,
            question_type=TASK_NAMES.get(qtype, qtype),
            issues=tuple(name for name, present in issues.items() if present),
        )

    def video_file(self, videos_dir: Path, sample: QASample) -> Path:
        return find_video(Path(videos_dir), sample.video, sample.video.split("/", 1)[-1])
