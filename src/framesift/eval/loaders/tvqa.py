"""TVQA (5 options, a ``[start, end]`` moment of a TV-show clip).

The original JSON Lines (jayleicn/TVQA ``data/``: ``tvqa_val.jsonl``, ``tvqa_test_public.jsonl``)::

    {"a0": "...", ..., "a4": "...", "answer_idx": 4, "q": "What is Robin holding ...?",
     "qid": 7, "ts": "1.21-8.49", "vid_name": "met_s06e22_seg01_clip_02", "show_name": "..."}

``tvqa_test_public.jsonl`` has no ``answer_idx``: its questions are skipped and counted (a file
of nothing else is refused, naming the val file to use). TVQA+ (jayleicn/TVQAplus
``tvqa_plus_val.json``, a JSON array) spells ``answer_idx`` as a string and ``ts`` as
``[start, end]``; both read. The SeViLA JSON line (see ``_sevila``) loads too: ``video`` is the
clip name, ``start``/``end`` strings split from ``ts``, ``qid`` ``TVQA_<index>``. A ``"NaN"``
time means no window on that side. TVQA ships frames, not videos: ``video_file`` expects the
clips re-encoded as ``<videos>/<clip name>.mp4`` (or .mkv...).
"""

from __future__ import annotations

from framesift.eval.loaders._sevila import SevilaBenchmark


class TVQA(SevilaBenchmark):
    name = "tvqa"
    qid_prefix = "TVQA"
    answers_hint = "tvqa_test_public.jsonl hides answer_idx; evaluate on tvqa_val.jsonl"
