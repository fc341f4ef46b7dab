"""EgoSchema (5 options; 3-minute egocentric clips).

``questions.json`` (egoschema/EgoSchema) is a JSON array of::

    {"q_uid": "001934bb-...", "google_drive_id": "15yG...", "question": "...",
     "option 0": "...", ..., "option 4": "..."}

and ``subset_answers.json`` maps ``q_uid`` -> correct option index for the public 500-question
subset (the other answers are only on the EgoSchema server). The answers file is looked for
next to the questions (or passed as ``answers``); an inline ``answer`` / ``correct_answer``
index in an entry also counts. Questions without an answer are skipped and counted in
``skipped``, so accuracy is over the answered subset. Videos are named by ``q_uid``:
``<videos>/<q_uid>.mp4``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from framesift.errors import InputError
from framesift.eval.loaders import Metric
from framesift.eval.loaders._common import BaseBenchmark, Record, load_json, text
from framesift.eval.samples import QASample, normalize_answer

ANSWERS_FILE = "subset_answers.json"


class EgoSchema(BaseBenchmark):
    name = "egoschema"
    metric = Metric("score")  # lmms-eval's egoschema_subset: the answered subset, a fraction
    answers_hint = (
        f"only the 500 questions in {ANSWERS_FILE} have public answers; put that file next "
        "to the questions or pass answers=<path>"
    )

    def __init__(self, answers: Path | None = None) -> None:
        super().__init__()
        self.answers = answers
        self._answers: dict[str, object] = {}

    def load(self, annotations: Path) -> Iterator[QASample]:
        path = Path(annotations)
        answers = Path(self.answers) if self.answers else path.parent / ANSWERS_FILE
        self._answers = {}
        if self.answers or answers.is_file():  # an explicit answers file must exist
            mapping = load_json(answers, "EgoSchema answers")
            if not isinstance(mapping, dict):
                raise InputError(f"{answers}: expected an object of q_uid -> option index")
            self._answers = {str(k): v for k, v in mapping.items()}
        return super().load(path)

    def parse(self, rec: Record, index: int, source: Path) -> QASample | None:
        qid = text(rec, "q_uid")
        raw = self._answers.get(qid, rec.get("answer", rec.get("correct_answer")))
        if raw is None:
            return None
        options = tuple(text(rec, f"option {i}") for i in range(5))
        return QASample(
            qid=qid,
            video=qid,
            question=text(rec, "question"),
            options=options,
            answer=normalize_answer(raw, options),
        )
