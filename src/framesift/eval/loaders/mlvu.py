"""MLVU dev multiple-choice tasks (4 to 6 options; long videos).

MLVU ships one JSON array per task (``MLVU/json/1_plotQA.json`` ...) whose videos sit in a
folder of the same name (``MLVU/video/1_plotQA/``). An entry, as JUNJIE99/MLVU's evaluation code
reads it::

    {"video": "movie101_66.mp4", "duration": 246, "question": "...",
     "candidates": ["Yellow", "Red", "Green", "Blue"], "answer": "Yellow",
     "question_type": "plotQA"}

``answer`` is the option text. ``annotations`` is one task file or the ``json`` folder; in a
folder, the open-ended generation tasks (``*sub_scene.json``, ``*summary.json``, which have no
candidates) are left out, as MLVU's own multiple-choice evaluation does. Entries have no id:
the qid is ``<task file stem>_<index>`` (a framesift convention), and ``video`` is
``<task file stem>/<video>``, relative to ``MLVU/video``; ``video_file`` also tries the bare name.
The Hugging Face parquet used by lmms-eval (options folded into the question text) is not read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from framesift.errors import InputError
from framesift.eval.loaders._common import (
    BaseBenchmark,
    Record,
    field,
    find_video,
    optional_text,
    text,
    text_list,
)
from framesift.eval.samples import QASample, normalize_answer

GENERATION_TASKS = ("sub_scene", "summary")


class MLVU(BaseBenchmark):
    name = "mlvu"
    breakdown_keys = ("question_type",)

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
        options = text_list(field(rec, "candidates"), "candidates")
        return QASample(
            qid=f"{source.stem}_{index}",
            video=f"{source.stem}/{text(rec, 'video')}",
            question=text(rec, "question"),
            options=options,
            answer=normalize_answer(field(rec, "answer"), options),
            question_type=optional_text(rec, "question_type"),
        )

    def video_file(self, videos_dir: Path, sample: QASample) -> Path:
        return find_video(Path(videos_dir), sample.video, sample.video.split("/", 1)[-1])
