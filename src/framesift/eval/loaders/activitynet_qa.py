"""ActivityNet-QA (open-ended; answers are short texts).

MILVLG/activitynet-qa ``dataset/README.md``: questions in ``<split>_q.json``
(``{"video_name", "question", "question_id"}``), answers in ``<split>_a.json``
(``{"answer", "type", "question_id"}``), both JSON arrays. ``type`` 0-2 are question types
(Motion, Spatial Relationship, Temporal Relationship), 3-8 are "free" questions labelled by
answer type (Yes/No, Color, Object, Location, Number, Other). The answers file is looked for
next to the questions (``_q.json`` -> ``_a.json``) or passed as ``answers``; records that carry
``answer``/``type`` inline (the lmms-eval form) need none. Questions without an answer are
skipped and counted in ``skipped``.

``question_type`` is the type's name; the ``family`` group folds 3-8 into ``Free``, the paper's
breakdown. Scoring is exact match or a judge: the harness's business. Videos are ActivityNet
downloads, ``v_<video_name>.mp4`` (also .mkv/.webm), or ``<video_name>.mp4``.
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
    located,
    read_records,
    text,
)
from framesift.eval.samples import QASample, make_groups

TYPE_NAMES = (
    "Motion",
    "Spatial Relationship",
    "Temporal Relationship",
    "Yes/No",
    "Color",
    "Object",
    "Location",
    "Number",
    "Other",
)


class ActivityNetQA(BaseBenchmark):
    name = "activitynet_qa"
    breakdown_keys = ("question_type", "family")
    metric = Metric("exact_match")  # lmms-eval scores with a GPT judge (gpt_eval_accuracy)
    answers_hint = "put <split>_a.json next to <split>_q.json or pass answers=<path>"

    def __init__(self, answers: Path | None = None) -> None:
        super().__init__()
        self.answers = answers
        self._answers: dict[str, Record] = {}

    def load(self, annotations: Path) -> Iterator[QASample]:
        path = Path(annotations)
        answers = (
            Path(self.answers) if self.answers else path.with_name(path.name.replace("_q.", "_a."))
        )
        self._answers = {}
        if self.answers or (answers != path and answers.is_file()):
            if not answers.is_file():
                raise InputError(f"ActivityNet-QA answers not found: {answers}")
            for loc, rec in read_records(answers):
                with located(answers, loc):
                    self._answers[text(rec, "question_id")] = rec
        return super().load(path)

    def parse(self, rec: Record, index: int, source: Path) -> QASample | None:
        qid = text(rec, "question_id")
        ans = self._answers.get(qid, rec if "answer" in rec else None)
        if ans is None:
            return None
        qtype = field(ans, "type")
        if isinstance(qtype, bool) or not isinstance(qtype, int) or not 0 <= qtype < 9:
            raise InputError(f"type must be an integer 0-8, got {qtype!r}")
        name = TYPE_NAMES[qtype]
        return QASample(
            qid=qid,
            video=text(rec, "video_name"),
            question=text(rec, "question"),
            options=(),
            answer=text(ans, "answer"),
            question_type=name,
            groups=make_groups(family=name if qtype < 3 else "Free"),
        )

    def video_file(self, videos_dir: Path, sample: QASample) -> Path:
        return find_video(Path(videos_dir), f"v_{sample.video}", sample.video)
