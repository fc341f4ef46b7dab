"""How2QA (4 options, a ``[start, end]`` clip of an instructional video).

SeViLA JSON line (see ``_sevila``): ``qid`` ``HOW2QA_<index>``, ``start``/``end`` strings split
from the original ``ts``; the original ``how2qa_*_release.jsonl`` (``vid_name``, ``q``,
``a0``..``a3``, ``answer_idx``, ``ts: "s-e"``) loads too. No per-type breakdown.
"""

from __future__ import annotations

from framesift.eval.loaders._sevila import SevilaBenchmark


class How2QA(SevilaBenchmark):
    name = "how2qa"
    qid_prefix = "HOW2QA"
