"""How2QA (4 options, a ``[start, end]`` clip of an instructional video).

Reads the VALUE/HERO JSON Lines ``how2qa_{val,test_public}_release.jsonl`` (laid out like TVQA's:
``vid_name``, ``q``, ``a0``..``a3``, ``answer_idx``, ``ts: "s-e"``; the test split has no
``answer_idx``, so its questions are skipped and counted) and the SeViLA JSON made from it
(``qid`` ``HOW2QA_<index>``, ``start``/``end`` strings split from ``ts``). No per-type breakdown.

No real record of either format could be found to test against: both are distributed outside
GitHub. What the How2QA authors publish there (ych133/How2R-and-How2QA
``how2QA/how2QA_val_release.csv``) is another layout, a CSV without a header whose columns are
video id, ``[start:end]``, three wrong answers, the question and then the correct answer, always
last. Reading it would mean inventing an option order, so a ``.csv`` is refused with a pointer to
the JSON Lines release instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from framesift.errors import InputError
from framesift.eval.loaders._sevila import SevilaBenchmark
from framesift.eval.samples import QASample


class How2QA(SevilaBenchmark):
    name = "how2qa"
    qid_prefix = "HOW2QA"
    answers_hint = "the test_public split hides answer_idx; evaluate on how2qa_val_release.jsonl"

    def load(self, annotations: Path) -> Iterator[QASample]:
        path = Path(annotations)
        if path.suffix.lower() == ".csv":
            raise InputError(
                f"{path}: the original How2QA CSV (correct answer always in the last column) "
                "is not read; use VALUE's how2qa_val_release.jsonl or SeViLA's how2qa JSON"
            )
        return super().load(path)
