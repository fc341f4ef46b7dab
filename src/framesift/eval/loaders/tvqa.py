"""TVQA (5 options, a ``[start, end]`` moment of a TV-show clip).

SeViLA JSON line (see ``_sevila``): ``video`` is the clip name (``s03e02_seg02_clip_10``),
``start``/``end`` are strings split from the original ``ts``. The original ``tvqa_val.jsonl``
(``vid_name``, ``q``, ``a0``..``a4``, ``answer_idx``, ``ts: "20.16-25.12"``) loads too; a
``"NaN"`` time means no window on that side. TVQA ships frames, not videos: ``video_file``
expects the clips re-encoded as ``<videos>/<clip name>.mp4`` (or .mkv...).
"""

from __future__ import annotations

from framesift.eval.loaders._sevila import SevilaBenchmark


class TVQA(SevilaBenchmark):
    name = "tvqa"
    qid_prefix = "TVQA"
