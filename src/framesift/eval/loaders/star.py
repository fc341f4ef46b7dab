"""STAR (situated reasoning, 4 options, clips with start/end seconds).

Accepts the original ``STAR_val.json`` (a JSON array; verified against the SeViLA notebook,
which converts it, and the STAR example entry quoted in public loaders)::

    {"question_id": "Interaction_T1_13", "video_id": "6H78U", "start": 11.1, "end": 19.6,
     "question": "Which object was tidied up by the person?", "answer": "The clothes.",
     "choices": [{"choice_id": 0, "choice": "The closet/cabinet."}, ...],
     "question_program": [...], "situations": {...}}

and the SeViLA JSON line converted from it (``a0``..``a3``, integer ``answer``). The question type
is the id's prefix: Interaction, Sequence, Prediction or Feasibility; STAR reports each and
their mean. Videos are Charades clips, ``<video_id>.mp4``.
"""

from __future__ import annotations

from pathlib import Path

from framesift.errors import InputError
from framesift.eval.loaders._common import Record, field, text
from framesift.eval.loaders._sevila import SevilaBenchmark
from framesift.eval.samples import Groups, QASample

TYPES = ("Interaction", "Sequence", "Prediction", "Feasibility")


class STAR(SevilaBenchmark):
    name = "star"
    breakdown_keys = ("question_type",)
    answers_hint = "STAR_test.json hides the answers; use STAR_val.json"

    def parse(self, rec: Record, index: int, source: Path) -> QASample | None:
        if "choices" in rec:  # original STAR entry -> the SeViLA line the notebook would write
            choices = sorted(field(rec, "choices"), key=lambda c: c.get("choice_id", 0))
            rec = {
                "video": text(rec, "video_id"),
                "qid": text(rec, "question_id"),
                "question": text(rec, "question"),
                **{f"a{i}": text(c, "choice") for i, c in enumerate(choices)},
                "num_option": len(choices),
                "answer": rec.get("answer"),  # option text (none in STAR_test.json)
                "start": rec.get("start"),
                "end": rec.get("end"),
            }
        return super().parse(rec, index, source)

    def classify(self, qid: str) -> tuple[str | None, Groups]:
        qtype = qid.split("_", 1)[0]
        if qtype not in TYPES:
            raise InputError(f"question id {qid!r} does not start with a STAR type {TYPES}")
        return qtype, ()
