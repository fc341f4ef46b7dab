"""NExT-QA (multiple choice, 5 options), from the SeViLA JSON or the original ``val.csv``.

Original CSV (doc-doc/NExT-QA ``dataset/nextqa/val.csv``)::

    video,frame_count,width,height,question,answer,qid,type,a0,a1,a2,a3,a4
    4010069381,369,640,480,how do the two man play the instrument,0,6,CH,roll the handle,...

``answer`` is a 0-based index, ``qid`` is only unique within a video, ``type`` is one of
CW CH (causal), TN TC TP (temporal), DC DL DO (descriptive). A CSV row gets the qid SeViLA
gives it, ``<type>_<video>_<qid>`` (``TN_6233408665_8``), so both formats name a question alike.

Videos live in per-folder subdirectories (``NExTVideo/1150/6233408665.mp4``);
``map_vid_vidorID.json`` (shipped with NExT-QA) maps the id to that path. It is looked for next
to the annotation file (or passed as ``video_map``); without it, ``video_file`` searches one folder
level below the videos folder. The SeViLA JSON already holds the mapped path.

Reported as in NExT-QA's ``eval_mc.py``: TP is counted with TN (``question_type``), and the
first letter of the type is the group (C/T/D accuracy).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from framesift.errors import InputError
from framesift.eval.loaders import Metric
from framesift.eval.loaders._common import Record, find_video, load_json, text
from framesift.eval.loaders._sevila import SevilaBenchmark
from framesift.eval.samples import Groups, QASample, make_groups

TYPES = ("CW", "CH", "TN", "TC", "TP", "DC", "DL", "DO")
MAP_FILE = "map_vid_vidorID.json"


class NExTQA(SevilaBenchmark):
    name = "nextqa"
    breakdown_keys = ("question_type", "group")
    metric = Metric("exact_match")  # lmms-eval's nextqa_mc_test

    def __init__(self, video_map: Path | None = None) -> None:
        super().__init__()
        self.video_map = video_map
        self._map: dict[str, str] = {}

    def load(self, annotations: Path) -> Iterator[QASample]:
        path = Path(annotations)
        map_path = Path(self.video_map) if self.video_map else path.parent / MAP_FILE
        self._map = {}
        if self.video_map or map_path.is_file():  # an explicit map must exist
            mapping = load_json(map_path, MAP_FILE)
            if not isinstance(mapping, dict):
                raise InputError(f"{map_path}: expected an object of video id -> path")
            self._map = {str(k): str(v) for k, v in mapping.items()}
        return super().load(path)

    def parse(self, rec: Record, index: int, source: Path) -> QASample | None:
        if "type" in rec:  # original CSV row -> the SeViLA line the notebook would write
            qtype, vid = text(rec, "type"), text(rec, "video")
            rec = {
                "video": self._map.get(vid, vid),
                "qid": f"{qtype}_{vid}_{text(rec, 'qid')}",
                "question": text(rec, "question"),
                **{f"a{i}": text(rec, f"a{i}") for i in range(5)},
                "answer": int(text(rec, "answer")),
            }
        return super().parse(rec, index, source)

    def classify(self, qid: str) -> tuple[str | None, Groups]:
        qtype = qid.split("_", 1)[0]
        if qtype not in TYPES:
            raise InputError(f"qid {qid!r} does not start with a NExT-QA type ({' '.join(TYPES)})")
        return ("TN" if qtype == "TP" else qtype), make_groups(group=qtype[0])

    def video_file(self, videos_dir: Path, sample: QASample) -> Path:
        videos_dir = Path(videos_dir)
        path = find_video(videos_dir, sample.video)
        if path.is_file() or "/" in sample.video:
            return path
        found = sorted(videos_dir.glob(f"*/{sample.video}.*"))
        return found[0] if found else path
