"""Video-MME (4 options A-D; short, medium and long videos).

Reads the released ``videomme/test-00000-of-00001.parquet`` (needs pyarrow) or the same records
as JSON / JSON Lines. Fields, as lmms-eval ``lmms_eval/tasks/videomme/utils.py`` reads them::

    {"video_id": "001", "videoID": "fFjv93ACGo8", "question_id": "001-1",
     "duration": "short", "domain": "Knowledge", "sub_category": "Humanity & History",
     "task_type": "Counting Problem", "question": "...",
     "options": ["A. Apples.", "B. Candles.", "C. Berries.", "D. The three kinds..."],
     "answer": "C"}

Options lose their ``"A. "`` prefixes (the harness adds its own letters). Reported per
``task_type`` (``question_type``), ``duration`` and ``domain``; ``sub_category`` is kept as a
group too. Videos: ``<videos>/<videoID>.mp4`` (lmms-eval also accepts .MP4 and .mkv).
"""

from __future__ import annotations

from pathlib import Path

from framesift.eval.loaders import Metric
from framesift.eval.loaders._common import (
    BaseBenchmark,
    Record,
    field,
    optional_text,
    strip_letter_prefixes,
    text,
    text_list,
)
from framesift.eval.samples import QASample, make_groups, normalize_answer


class VideoMME(BaseBenchmark):
    name = "videomme"
    breakdown_keys = ("question_type", "duration", "domain")
    metric = Metric("videomme_perception_score", scale=100)

    def parse(self, rec: Record, index: int, source: Path) -> QASample | None:
        options = strip_letter_prefixes(text_list(field(rec, "options"), "options"))
        return QASample(
            qid=text(rec, "question_id"),
            video=text(rec, "videoID"),
            question=text(rec, "question"),
            options=options,
            answer=normalize_answer(field(rec, "answer"), options),
            question_type=optional_text(rec, "task_type"),
            groups=make_groups(
                duration=optional_text(rec, "duration"),
                domain=optional_text(rec, "domain"),
                sub_category=optional_text(rec, "sub_category"),
            ),
        )
