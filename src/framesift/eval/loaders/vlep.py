"""VLEP (video-and-language event prediction): which of two future events happens next.

SeViLA JSON line without a question (``a0``/``a1`` are the events, ``qid`` ``VLEP_<example_id>``,
numeric ``start``/``end``), or the original ``vlep_*_release.jsonl`` (``events``, ``ts``,
``example_id``). Both get the question ``QUESTION`` so every benchmark has question text.

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

    def video_file(self, videos_dir: Path, sample: QASample) -> Path:
        return find_video(Path(videos_dir), sample.video, sample.video.removesuffix("_ep"))
