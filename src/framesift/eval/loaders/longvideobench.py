"""LongVideoBench (4 or 5 options; videos of 8 s to 1 h with subtitles).

Reads ``lvb_val.json`` (a JSON array; fields as longvideobench/LongVideoBench's dataset class
reads them)::

    {"id": "86CxyhFV9MI_0", "video_id": "86CxyhFV9MI", "video_path": "86CxyhFV9MI.mp4",
     "question": "...", "candidates": ["...", ...], "correct_choice": 1,
     "duration_group": 600, "question_category": "TOS", "topic_category": "NP-News-Programs",
     "level": "L2-Relation", "duration": 190.16, "starting_timestamp_for_subtitles": 0, ...}

and the Hugging Face parquet rows lmms-eval uses (``option0``..``option4``, unused ones
``"N/A"``). ``correct_choice`` is a 0-based index; test-split entries have none and are skipped
(counted in ``skipped``). There is no question window: ``starting_timestamp_for_subtitles`` only
aligns the subtitles, so ``start``/``end`` stay ``None``. Reported per ``question_category`` and
``duration_group`` (15, 60, 600, 3600 s) as lmms-eval does. Videos: ``<videos>/<video_path>``.
"""

from __future__ import annotations

from pathlib import Path

from framesift.eval.loaders import Metric
from framesift.eval.loaders._common import (
    BaseBenchmark,
    Record,
    field,
    optional_text,
    text,
    text_list,
)
from framesift.eval.samples import QASample, make_groups, normalize_answer


class LongVideoBench(BaseBenchmark):
    name = "longvideobench"
    breakdown_keys = ("question_type", "duration_group")
    metric = Metric("lvb_acc")
    answers_hint = "test-split files hide correct_choice; use lvb_val.json"

    def parse(self, rec: Record, index: int, source: Path) -> QASample | None:
        if rec.get("correct_choice") is None:
            return None
        if "candidates" in rec:
            options = text_list(rec["candidates"], "candidates")
        else:
            keys = [f"option{i}" for i in range(5)]
            options = tuple(text(rec, k) for k in keys if rec.get(k) not in (None, "N/A"))
        video = rec.get("video_path") or f"{text(rec, 'video_id')}.mp4"
        return QASample(
            qid=text(rec, "id"),
            video=str(video),
            question=text(rec, "question"),
            options=options,
            answer=normalize_answer(field(rec, "correct_choice"), options),
            question_type=optional_text(rec, "question_category"),
            groups=make_groups(
                duration_group=optional_text(rec, "duration_group"),
                topic_category=optional_text(rec, "topic_category"),
                level=optional_text(rec, "level"),
            ),
        )
