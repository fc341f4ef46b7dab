"""VLEP (video-and-language event prediction): which of two future events happens next.

The original ``vlep_dev_release.jsonl`` (jayleicn/VideoLanguageFuturePred ``data/``)::

    {"example_id": 20142, "vid_name": "friends_s03e09_seg02_clip_07_ep", "ts": [38.81, 40.37],
     "events": ["Ross will stop, ...", "Ross will stop and ask ..."], "answer": 0, "split": "dev"}

or the SeViLA JSON line made from it (``a0``/``a1`` are the events, ``qid``
``VLEP_<example_id>``, numeric ``start``/``end``, no question). Both get the question
``QUESTION`` so every benchmark has question text. ``vlep_test_release.jsonl`` has no
``answer``: its entries are skipped and counted.

Clip names ending in ``_ep`` come from TVQA episodes; amazon-science/ViLA reads those from the
TVQA videos with the suffix cut (``video_id[:-3]``), so ``video_file`` tries the name as given,
then without ``_ep``.
"""

from __future__ import annotations

from pathlib import Path

from framesift.eval.loaders._common import find_video
from framesift.eval.loaders._sevila import SevilaBenchmark
from framesift.eval.samples import QASample

QUESTION = "Which event is more likely to happen next?"


class VLEP(SevilaBenchmark):
    name = "vlep"
    qid_prefix = "VLEP"
    fixed_question = QUESTION
    answers_hint = "vlep_test_release.jsonl hides the answers; evaluate on vlep_dev_release.jsonl"

    def video_file(self, videos_dir: Path, sample: QASample) -> Path:
        return find_video(Path(videos_dir), sample.video, sample.video.removesuffix("_ep"))
