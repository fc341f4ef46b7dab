"""Generic JSON Lines: bring any benchmark as one JSON object per line.

Each line::

    {"qid": "q1", "video": "clips/cooking.mp4", "question": "What is added first?",
     "options": ["salt", "oil", "flour"], "answer": "B",
     "question_type": "order", "start": 12.0, "end": 48.5, "groups": {"split": "hard"}}

- ``qid`` (text, unique), ``video`` (path relative to the videos folder; without an extension,
  .mp4 .mkv .webm .avi .mov are tried), ``question`` (text): required.
- ``options``: list of option texts, 2 or more; omit or ``[]`` for an open-ended question.
- ``answer``: required. Multiple choice: a letter (``"B"``, ``"(b)"``), a 0-based index
  (``1``), or the option's full text (case and whitespace are ignored). Open-ended: the
  reference text.
- ``question_type`` (text), ``start``/``end`` (seconds, the clip to answer from) and ``groups``
  (object of breakdown key -> value): optional.

Any other key is an error, so a misspelt optional field is not silently dropped. A JSON array
of the same objects is read too. Breakdown: ``question_type`` and every group key seen, which
the harness reads from the samples (``breakdown_keys`` lists only ``question_type``).
"""

from __future__ import annotations

from pathlib import Path

from framesift.errors import InputError
from framesift.eval.loaders._common import (
    BaseBenchmark,
    Record,
    field,
    optional_text,
    seconds,
    text,
    text_list,
)
from framesift.eval.samples import QASample, make_groups, normalize_answer

KEYS = ("qid", "video", "question", "options", "answer", "question_type", "start", "end", "groups")


class Generic(BaseBenchmark):
    name = "generic"
    breakdown_keys = ("question_type",)

    def parse(self, rec: Record, index: int, source: Path) -> QASample | None:
        unknown = sorted(set(rec) - set(KEYS))
        if unknown:
            raise InputError(f"unknown field(s) {unknown}; allowed: {', '.join(KEYS)}")
        options = text_list(rec.get("options") or [], "options")
        raw = field(rec, "answer")
        groups = rec.get("groups") or {}
        if not isinstance(groups, dict):
            raise InputError(f"groups must be an object of key -> value, got {groups!r}")
        return QASample(
            qid=text(rec, "qid"),
            video=text(rec, "video"),
            question=text(rec, "question"),
            options=options,
            answer=normalize_answer(raw, options) if options else text(rec, "answer"),
            question_type=optional_text(rec, "question_type"),
            groups=make_groups(groups),
            start=seconds(rec.get("start"), "start"),
            end=seconds(rec.get("end"), "end"),
        )
