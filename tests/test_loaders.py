"""Benchmark loaders on small hand-made files in each released format, and answer matching.

The annotation snippets copy the field layout of the public releases (entries abridged): a loader
that passes here reads the real files the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framesift.errors import InputError
from framesift.eval import QASample, normalize_answer, option_letter, parse_choice
from framesift.eval.loaders import BENCHMARKS


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def load(name: str, path: Path, **kwargs: object) -> list[QASample]:
    return list(BENCHMARKS.build(name, **kwargs).load(path))


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


# --------------------------------------------------------------------------- registry


def test_registry_lists_every_benchmark_and_rejects_unknown():
    assert set(BENCHMARKS.names()) >= {
        "nextqa",
        "star",
        "how2qa",
        "tvqa",
        "vlep",
        "videomme",
        "mlvu",
        "longvideobench",
        "egoschema",
        "activitynet_qa",
        "generic",
    }
    with pytest.raises(InputError, match="nextqa"):
        BENCHMARKS.build("nextqaa")


def test_missing_annotation_file_raises_at_load(tmp_path):
    with pytest.raises(InputError, match="not found"):
        BENCHMARKS.build("star").load(tmp_path / "nope.json")


# --------------------------------------------------------------------------- NExT-QA

NEXTQA_SEVILA = [
    {
        "num_option": 5,
        "qid": "TN_6233408665_8",
        "question": "what did the people on the sofa do after the lady in pink finished singing?",
        "video": "1150/6233408665",
        "a0": "sitting.",
        "a1": "give it to the girl.",
        "a2": "take music sheet.",
        "a3": "clap.",
        "a4": "walk in circles.",
        "answer": 3,
    },
    {
        "num_option": 5,
        "qid": "CW_4882821564_1",
        "question": "why did the boy pick up one present?",
        "video": "1001/4882821564",
        **{f"a{i}": t for i, t in enumerate(["share", "approach", "unwrap", "play", "gesture"])},
        "answer": 2,
    },
]

NEXTQA_CSV = """\
video,frame_count,width,height,question,answer,qid,type,a0,a1,a2,a3,a4
4010069381,369,640,480,how do the two man play the instrument,0,6,CH,roll the handle,tap their feet,strum the string,hit with sticks,pat with hand
8547321641,327,640,362,how many babies are in the video,4,7,DC,kitchen,four,two,three,one
6329077812,1835,640,360,what did the lady do before wipping the baby s mouth,4,7,TP,touch the baby again,turn away,adjusts the baby in grey,smiling,take napkin
"""  # noqa: E501 (rows copied from doc-doc/NExT-QA dataset/nextqa/val.csv)


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_nextqa_sevila_json(tmp_path):
    samples = load("nextqa", write_json(tmp_path / "val.json", NEXTQA_SEVILA))
    s = samples[0]
    assert (s.qid, s.video, s.answer, s.question_type) == (
        "TN_6233408665_8",
        "1150/6233408665",
        3,
        "TN",
    )
    assert s.options[3] == "clap." and len(s.options) == 5
    assert s.group("group") == "T" and samples[1].group("group") == "C"
    assert (s.start, s.end) == (None, None)


def test_nextqa_csv_maps_video_and_merges_tp_into_tn(tmp_path):
    write_json(tmp_path / "map_vid_vidorID.json", {"4010069381": "0060/4010069381"})
    samples = load("nextqa", write_csv(tmp_path / "val.csv", NEXTQA_CSV))
    assert [s.qid for s in samples] == ["CH_4010069381_6", "DC_8547321641_7", "TP_6329077812_7"]
    assert samples[0].video == "0060/4010069381"  # mapped
    assert samples[1].video == "8547321641"  # not in the map: the bare id
    assert [s.answer for s in samples] == [0, 4, 4]
    assert [s.question_type for s in samples] == ["CH", "DC", "TN"]  # TP counted as TN
    assert [s.group("group") for s in samples] == ["C", "D", "T"]
    assert BENCHMARKS.build("nextqa").breakdown_keys == ("question_type", "group")


def test_nextqa_video_file_resolves_subfolder_and_extension(tmp_path):
    nextqa = BENCHMARKS.build("nextqa")
    samples = list(nextqa.load(write_csv(tmp_path / "val.csv", NEXTQA_CSV)))
    videos = tmp_path / "NExTVideo"
    want = touch(videos / "1164" / "8547321641.mkv")
    assert nextqa.video_file(videos, samples[1]) == want  # found one folder down
    assert nextqa.video_file(videos, samples[0]) == videos / "4010069381.mp4"  # expected path


def test_nextqa_bad_type_and_bad_answer_name_the_entry(tmp_path):
    bad = [NEXTQA_SEVILA[0], {**NEXTQA_SEVILA[1], "qid": "XX_1_2"}]
    with pytest.raises(InputError, match=r"val\.json: entry 1: .*NExT-QA type"):
        load("nextqa", write_json(tmp_path / "val.json", bad))
    bad_answer = NEXTQA_CSV.replace("in the video,4,7,DC", "in the video,five,7,DC")
    with pytest.raises(InputError, match=r"val\.csv: line 3: .*'five'"):
        load("nextqa", write_csv(tmp_path / "val.csv", bad_answer))


# --------------------------------------------------------------------------- STAR

STAR_ORIGINAL = [
    {
        "answer": "The clothes.",
        "choices": [
            {"choice": "The closet/cabinet.", "choice_id": 0, "choice_program": []},
            {"choice": "The blanket.", "choice_id": 1, "choice_program": []},
            {"choice": "The clothes.", "choice_id": 2, "choice_program": []},
            {"choice": "The table.", "choice_id": 3, "choice_program": []},
        ],
        "end": 19.6,
        "question": "Which object was tidied up by the person?",
        "question_id": "Interaction_T1_13",
        "question_program": [],
        "situations": {},
        "start": 11.1,
        "video_id": "6H78U",
    }
]


def star_sevila(qid: str, answer: int = 1) -> dict:
    return {
        "video": "6H78U",
        "num_option": 4,
        "qid": qid,
        **{f"a{i}": f"choice {i}" for i in range(4)},
        "answer": answer,
        "question": "What happened?",
        "start": 1.5,
        "end": 7.25,
    }


def test_star_original_json(tmp_path):
    (s,) = load("star", write_json(tmp_path / "STAR_val.json", STAR_ORIGINAL))
    assert (s.qid, s.video, s.question_type) == ("Interaction_T1_13", "6H78U", "Interaction")
    assert s.options == ("The closet/cabinet.", "The blanket.", "The clothes.", "The table.")
    assert s.answer == 2  # from the answer text
    assert (s.start, s.end) == (11.1, 19.6)


def test_star_sevila_json_four_types(tmp_path):
    qids = ["Interaction_T1_1", "Sequence_T3_2", "Prediction_T4_3", "Feasibility_T5_4"]
    rows = [star_sevila(q) for q in qids]
    samples = load("star", write_jsonl(tmp_path / "val.jsonl", rows))
    assert [s.question_type for s in samples] == [
        "Interaction",
        "Sequence",
        "Prediction",
        "Feasibility",
    ]
    assert all((s.start, s.end, s.answer) == (1.5, 7.25, 1) for s in samples)
    with pytest.raises(InputError, match=r"line 2: .*STAR type"):
        load("star", write_jsonl(tmp_path / "bad.jsonl", [rows[0], star_sevila("Other_T1_9")]))


# --------------------------------------------------------------------------- How2QA, TVQA, VLEP


def test_how2qa_sevila_string_times_and_original_ts(tmp_path):
    sevila = {
        "video": "-4K5fkHF_j0_61_107",
        "num_option": 4,
        "qid": "HOW2QA_0",
        **{f"a{i}": f"step {i}" for i in range(4)},
        "answer": 0,
        "question": "What does the man do after sanding?",
        "start": "12.0",
        "end": "31.5",
    }
    original = {
        "vid_name": "abc_1_2",
        "q": "What is used?",
        **{f"a{i}": f"tool {i}" for i in range(4)},
        "answer_idx": 3,
        "ts": "4.5-9",
    }
    a, b = load("how2qa", write_json(tmp_path / "val.json", [sevila, original]))
    assert (a.qid, a.start, a.end, a.answer, len(a.options)) == ("HOW2QA_0", 12.0, 31.5, 0, 4)
    assert (b.qid, b.video, b.question, b.answer, b.start, b.end) == (
        "HOW2QA_1",  # numbered by position, as the SeViLA notebook does
        "abc_1_2",
        "What is used?",
        3,
        4.5,
        9.0,
    )
    assert BENCHMARKS.build("how2qa").breakdown_keys == ()


def test_tvqa_sevila_and_nan_timestamp(tmp_path):
    row = {
        "a0": "Because Sheldon is being rude.",
        "a1": "Because he doesn't like Sheldon.",
        "a2": "Because they are having an argument.",
        "a3": "Because Howard wanted to have a private meal with Raj.",
        "a4": "Because Sheldon won't loan him money for food.",
        "answer": 2,
        "end": "25.12",
        "num_option": 5,
        "qid": "TVQA_0",
        "question": "Why is Howard frustrated when he is talking to Sheldon?",
        "start": "20.16",
        "video": "s03e02_seg02_clip_10",
    }
    nan = {**row, "qid": "TVQA_1", "start": "NaN", "end": "NaN"}
    a, b = load("tvqa", write_json(tmp_path / "tvqa_val.json", [row, nan]))
    assert (a.start, a.end, a.answer, len(a.options)) == (20.16, 25.12, 2, 5)
    assert (b.start, b.end) == (None, None)
    reversed_window = {**row, "start": "30", "end": "20"}
    with pytest.raises(InputError, match=r"entry 0: .*before start"):
        load("tvqa", write_json(tmp_path / "bad.json", [reversed_window]))


def test_vlep_builds_question_and_strips_ep_suffix(tmp_path):
    sevila = {
        "a0": "Ross will stop, turn and point at Monica.",
        "a1": "Ross will stop and ask Monica why she is pointing at him.",
        "answer": 0,
        "end": 40.37,
        "num_option": 2,
        "qid": "VLEP_20142",
        "start": 38.81,
        "video": "friends_s03e09_seg02_clip_07_ep",
    }
    original = {
        "example_id": 7,
        "vid_name": "yt:abc",
        "events": ["He jumps.", "He sits."],
        "answer": 1,
        "ts": [1.0, 2.5],
    }
    vlep = BENCHMARKS.build("vlep")
    a, b = list(vlep.load(write_json(tmp_path / "vlep_val.json", [sevila, original])))
    assert a.question == b.question == "Which event is more likely to happen next?"
    assert (a.qid, a.answer, a.options[0], a.start, a.end) == (
        "VLEP_20142",
        0,
        "Ross will stop, turn and point at Monica.",
        38.81,
        40.37,
    )
    assert (b.qid, b.answer, b.options, b.start, b.end) == (
        "VLEP_7",
        1,
        ("He jumps.", "He sits."),
        1.0,
        2.5,
    )
    clip = touch(tmp_path / "tvqa" / "friends_s03e09_seg02_clip_07.mp4")
    assert vlep.video_file(tmp_path / "tvqa", a) == clip


# --------------------------------------------------------------------------- Video-MME

VIDEOMME = [
    {
        "video_id": "001",
        "duration": "short",
        "domain": "Knowledge",
        "sub_category": "Humanity & History",
        "url": "https://www.youtube.com/watch?v=fFjv93ACGo8",
        "videoID": "fFjv93ACGo8",
        "question_id": "001-1",
        "task_type": "Counting Problem",
        "question": "When demonstrating the Germany modern Christmas tree, which is not used?",
        "options": ["A. Apples.", "B. Candles.", "C. Berries.", "D. The three kinds are all used."],
        "answer": "C",
    },
    {
        "video_id": "601",
        "duration": "long",
        "domain": "Sports Competition",
        "sub_category": "Football",
        "url": "",
        "videoID": "xyz123",
        "question_id": "601-2",
        "task_type": "Temporal Reasoning",
        "question": "What happens after the goal?",
        "options": ["A. a", "B. b", "C. c", "D. d"],
        "answer": "A",
    },
]


def check_videomme(samples: list[QASample]) -> None:
    a, b = samples
    assert (a.qid, a.video, a.answer) == ("001-1", "fFjv93ACGo8", 2)
    assert a.options == ("Apples.", "Candles.", "Berries.", "The three kinds are all used.")
    assert a.question_type == "Counting Problem" and b.question_type == "Temporal Reasoning"
    assert (a.group("duration"), b.group("duration")) == ("short", "long")
    assert a.group_dict == {
        "domain": "Knowledge",
        "duration": "short",
        "sub_category": "Humanity & History",
    }


def test_videomme_json_jsonl_and_parquet(tmp_path):
    check_videomme(load("videomme", write_json(tmp_path / "videomme.json", VIDEOMME)))
    check_videomme(load("videomme", write_jsonl(tmp_path / "videomme.jsonl", VIDEOMME)))
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "test-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(VIDEOMME), path)
    check_videomme(load("videomme", path))
    videomme = BENCHMARKS.build("videomme")
    assert videomme.breakdown_keys == ("question_type", "duration", "domain")
    video = touch(tmp_path / "data" / "fFjv93ACGo8.MP4")
    assert videomme.video_file(tmp_path / "data", load("videomme", path)[0]) == video


def test_videomme_bad_answer_letter_names_the_line(tmp_path):
    rows = [VIDEOMME[0], {**VIDEOMME[1], "answer": "F"}]
    with pytest.raises(InputError, match=r"videomme\.jsonl: line 2: answer 'F' matches no option"):
        load("videomme", write_jsonl(tmp_path / "videomme.jsonl", rows))


# --------------------------------------------------------------------------- MLVU


def test_mlvu_folder_of_task_files(tmp_path):
    json_dir = tmp_path / "json"
    json_dir.mkdir()
    plot = {
        "video": "movie101_66.mp4",
        "duration": 246,
        "question": "What color is the main male character in the video?",
        "candidates": ["Yellow", "Red", "Green", "Blue"],
        "answer": "Yellow",
        "question_type": "plotQA",
    }
    count = {
        "video": "count_1.mp4",
        "duration": 500,
        "question": "How many times does he jump?",
        "candidates": ["7", "12", "3", "0", "1", "2"],
        "answer": "2",  # the option text "2", not index 2
        "question_type": "count",
    }
    write_json(json_dir / "1_plotQA.json", [plot])
    write_json(json_dir / "4_count.json", [count])
    write_json(json_dir / "9_summary.json", [{"video": "s.mp4", "question": "Summarize."}])
    mlvu = BENCHMARKS.build("mlvu")
    a, b = list(mlvu.load(json_dir))
    assert (a.qid, a.video, a.answer, a.question_type) == (
        "1_plotQA_0",
        "1_plotQA/movie101_66.mp4",
        0,
        "plotQA",
    )
    assert (b.answer, b.question_type, len(b.options)) == (5, "count", 6)
    video = touch(tmp_path / "video" / "1_plotQA" / "movie101_66.mp4")
    assert mlvu.video_file(tmp_path / "video", a) == video
    flat = touch(tmp_path / "flat" / "count_1.mp4")
    assert mlvu.video_file(tmp_path / "flat", b) == flat
    (single,) = load("mlvu", json_dir / "1_plotQA.json")
    assert single == a


# --------------------------------------------------------------------------- LongVideoBench


def lvb(i: int, choice: int | None) -> dict:
    row = {
        "video_id": "86CxyhFV9MI",
        "question": "In the video, which subtitles appear at the same time as the man?",
        "question_wo_referring_query": "Which subtitles appear at the same time?",
        "candidates": ["promisc has come", "run away countless", "in front of our crown", "cap"],
        "correct_choice": choice,
        "position": [854, 948, 1373],
        "topic_category": "NP-News-Programs",
        "question_category": "TOS",
        "level": "L2-Relation",
        "id": f"86CxyhFV9MI_{i}",
        "video_path": "86CxyhFV9MI.mp4",
        "subtitle_path": "86CxyhFV9MI_en.json",
        "duration_group": 600,
        "starting_timestamp_for_subtitles": 0,
        "duration": 190.16,
    }
    if choice is None:
        del row["correct_choice"]
    return row


def test_longvideobench_val_and_parquet_option_columns(tmp_path):
    lv = BENCHMARKS.build("longvideobench")
    (s,) = list(lv.load(write_json(tmp_path / "lvb_val.json", [lvb(0, 1)])))
    assert (s.qid, s.video, s.answer, s.question_type) == (
        "86CxyhFV9MI_0",
        "86CxyhFV9MI.mp4",
        1,
        "TOS",
    )
    assert s.group("duration_group") == "600" and (s.start, s.end) == (None, None)
    assert lv.breakdown_keys == ("question_type", "duration_group")
    hf = {k: v for k, v in lvb(1, 3).items() if k != "candidates"}
    hf |= {"option0": "a", "option1": "b", "option2": "c", "option3": "d", "option4": "N/A"}
    (h,) = load("longvideobench", write_jsonl(tmp_path / "lvb.jsonl", [hf]))
    assert (h.options, h.answer) == (("a", "b", "c", "d"), 3)


def test_longvideobench_test_split_entries_are_skipped_and_counted(tmp_path):
    lv = BENCHMARKS.build("longvideobench")
    rows = [lvb(0, 1), lvb(1, None), lvb(2, 0)]
    samples = list(lv.load(write_json(tmp_path / "lvb_val.json", rows)))
    assert [s.qid for s in samples] == ["86CxyhFV9MI_0", "86CxyhFV9MI_2"] and lv.skipped == 1
    with pytest.raises(InputError, match="ground-truth answer"):
        list(lv.load(write_json(tmp_path / "lvb_test_wo_gt.json", [lvb(0, None)])))


# --------------------------------------------------------------------------- EgoSchema


def ego_question(uid: str) -> dict:
    return {
        "q_uid": uid,
        "google_drive_id": "15yGB0TI5zG5usdQZOXn0CrRzkJNB0gMl",
        "question": "What is the overarching behaviour of C?",
        **{f"option {i}": f"C does thing {i}" for i in range(5)},
    }


def test_egoschema_answers_file_and_unanswered_questions(tmp_path):
    qs = write_json(tmp_path / "questions.json", [ego_question(u) for u in ("u1", "u2", "u3")])
    write_json(tmp_path / "subset_answers.json", {"u1": 3, "u3": 0})
    ego = BENCHMARKS.build("egoschema")
    samples = list(ego.load(qs))
    assert [(s.qid, s.video, s.answer) for s in samples] == [("u1", "u1", 3), ("u3", "u3", 0)]
    assert ego.skipped == 1 and samples[0].options[4] == "C does thing 4"
    other = write_json(tmp_path / "elsewhere.json", {"u2": 1})
    (only,) = load("egoschema", qs, answers=other)
    assert (only.qid, only.answer) == ("u2", 1)
    with pytest.raises(InputError, match="not found"):
        BENCHMARKS.build("egoschema", answers=tmp_path / "missing.json").load(qs)


def test_egoschema_without_any_answers_raises(tmp_path):
    qs = write_json(tmp_path / "questions.json", [ego_question("u1")])
    with pytest.raises(InputError, match=r"subset_answers\.json"):
        load("egoschema", qs)


# --------------------------------------------------------------------------- ActivityNet-QA


def test_activitynet_qa_open_ended_with_answer_file(tmp_path):
    qs = [
        {
            "video_name": "v_sb9bdBpLAbM",
            "question": "is the athlete wearing trousers",
            "question_id": "v_sb9bdBpLAbM_1",
        },
        {"video_name": "abcDEF", "question": "what is the person doing", "question_id": "q2"},
        {"video_name": "abcDEF", "question": "what color is the ball", "question_id": "q3"},
    ]
    ans = [
        {"answer": "no", "type": 3, "question_id": "v_sb9bdBpLAbM_1"},
        {"answer": "dancing", "type": 0, "question_id": "q2"},
    ]
    write_json(tmp_path / "test_a.json", ans)
    anet = BENCHMARKS.build("activitynet_qa")
    a, b = list(anet.load(write_json(tmp_path / "test_q.json", qs)))
    assert anet.skipped == 1  # q3 has no answer
    assert (a.options, a.answer, a.question_type, a.group("family")) == ((), "no", "Yes/No", "Free")
    assert (b.answer, b.question_type, b.group("family")) == ("dancing", "Motion", "Motion")
    assert not a.is_multiple_choice
    video = touch(tmp_path / "videos" / "v_abcDEF.webm")
    assert anet.video_file(tmp_path / "videos", b) == video


# --------------------------------------------------------------------------- generic JSONL


def test_generic_jsonl_all_answer_spellings(tmp_path):
    base = {"video": "clips/a", "question": "Which?", "options": ["salt", "oil", "Flour"]}
    rows = [
        {**base, "qid": "q1", "answer": "B"},
        {**base, "qid": "q2", "answer": 2},
        {**base, "qid": "q3", "answer": "  flour "},
        {**base, "qid": "q4", "answer": "(a)", "question_type": "order", "start": 1, "end": 2.5},
        {
            "qid": "q5",
            "video": "b.mkv",
            "question": "What?",
            "answer": "a red ball",
            "groups": {"k": 1},
        },
    ]
    samples = load("generic", write_jsonl(tmp_path / "mine.jsonl", rows))
    assert [s.answer for s in samples] == [1, 2, 2, 0, "a red ball"]
    assert (samples[3].question_type, samples[3].start, samples[3].end) == ("order", 1.0, 2.5)
    assert samples[4].options == () and samples[4].group("k") == "1"
    assert len({*samples}) == 5  # hashable
    generic = BENCHMARKS.build("generic")
    assert generic.video_file(tmp_path, samples[0]) == tmp_path / "clips" / "a.mp4"


GOOD = {"qid": "q1", "video": "v", "question": "Q?", "answer": "x"}


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (json.dumps({**GOOD, "optoins": []}), "unknown field"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "answer"}), "missing field 'answer'"),
        (json.dumps({**GOOD, "options": ["a", "b"], "answer": "c"}), "matches no option"),
        (json.dumps({**GOOD, "start": "soon"}), "seconds"),
        (json.dumps({**GOOD, "start": 5, "end": 4}), "before start"),
        (json.dumps(GOOD)[:-1], "invalid JSON"),
        ("[1, 2]", "expected an object"),
    ],
)
def test_generic_malformed_line_names_file_and_line(tmp_path, line, why):
    path = tmp_path / "mine.jsonl"
    path.write_text(f"{json.dumps(GOOD)}\n\n{line}\n", encoding="utf-8")  # line 2 is blank
    with pytest.raises(InputError, match=rf"mine\.jsonl: line 3: .*{why}"):
        load("generic", path)


# --------------------------------------------------------------------------- samples


def test_qasample_validates_and_accepts_group_dicts():
    s = QASample("q", "v", "Q?", ("a", "b"), 1, groups={"b": "2", "a": "1"})
    assert s.groups == (("a", "1"), ("b", "2")) and hash(s) == hash(s)
    with pytest.raises(InputError, match="out of range"):
        QASample("q", "v", "Q?", ("a", "b"), 2)
    with pytest.raises(InputError, match="option index"):
        QASample("q", "v", "Q?", ("a", "b"), "a")
    with pytest.raises(InputError, match="single option"):
        QASample("q", "v", "Q?", ("a",), 0)
    with pytest.raises(InputError, match="reference text"):
        QASample("q", "v", "Q?", (), 0)
    assert option_letter(3) == "D"


OPTS = ("a dog runs", "a cat sleeps", "the man claps", "walk away", "walk away quickly")


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        *[(1, 1), (3.0, 3), ("2", 2), ("B", 1), ("(b)", 1), ("C.", 2), ("c) ", 2)],
        *[("B. a cat sleeps", 1), (" The  MAN claps. ", 2), ("walk away", 3)],
    ],
)
def test_normalize_answer_spellings(raw, want):
    assert normalize_answer(raw, OPTS) == want


@pytest.mark.parametrize("raw", [5, -1, True, "F", "B. the man claps", "a horse", None, 1.5, ""])
def test_normalize_answer_rejects(raw):
    with pytest.raises(InputError):
        normalize_answer(raw, OPTS)


def test_normalize_answer_prefers_option_text_over_index():
    assert normalize_answer("2", ["7", "12", "3", "2"]) == 3
    assert normalize_answer("2", ["7", "12", "3", "4"]) == 2


option_texts = st.lists(
    st.text(alphabet="abcdefghij XY.,", min_size=1, max_size=12).filter(lambda t: t.strip(". ")),
    min_size=2,
    max_size=6,
).filter(lambda opts: len({" ".join(o.casefold().split()).rstrip(".") for o in opts}) == len(opts))


@given(opts=option_texts, data=st.data())
def test_normalize_answer_round_trips(opts, data):
    i = data.draw(st.integers(0, len(opts) - 1))
    assert normalize_answer(i, opts) == i
    assert normalize_answer(opts[i], opts) == i
    assert normalize_answer(f"  {opts[i].upper()}  ", opts) == i
    # a letter reads as a letter unless it is some option's text
    if not any(o.strip().casefold().rstrip(".") == option_letter(i).casefold() for o in opts):
        assert normalize_answer(option_letter(i), opts) == i
        assert normalize_answer(f"({option_letter(i).lower()})", opts) == i


@pytest.mark.parametrize(
    ("reply", "want"),
    [
        ("B", 1),
        ("(B)", 1),
        ("B.", 1),
        ("c", 2),
        ("**C**", 2),
        ("B. a cat sleeps", 1),
        ("(b) a cat", 1),
        ("D) walk away", 3),
        ("C: the man claps", 2),
        ("The answer is B", 1),
        ("The answer is B because the cat is tired.", 1),
        ("Answer: (c)", 2),
        ("answer: c.", 2),
        ("The best answer is: D", 3),
        ("Best option: (D", 3),
        ("The correct answer is option B.", 1),
        ("option b", 1),
        ("the man claps", 2),
        ("I think the man claps here.", 2),
        ("He will walk away quickly.", 4),  # the longer option contains the shorter one
        ("He will walk away.", 3),
        # unparseable or contradictory: never guess
        ("A dog is running", None),  # article, not option A
        ("The answer is a dog", None),
        ("The answer is F", None),  # no option F
        ("The answer is A. No wait, the answer is C", None),
        ("a dog runs or a cat sleeps", None),
        ("", None),
        ("I am not sure", None),
        ("Options: none", None),
    ],
)
def test_parse_choice(reply, want):
    assert parse_choice(reply, OPTS) == want


@given(opts=option_texts, data=st.data())
def test_parse_choice_reads_back_letters(opts, data):
    i = data.draw(st.integers(0, len(opts) - 1))
    letter = option_letter(i)
    for reply in (letter, f"({letter})", f"{letter}. {opts[i]}", f"The answer is {letter}."):
        assert parse_choice(reply, opts) == i
