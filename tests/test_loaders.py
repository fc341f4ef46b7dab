"""Benchmark loaders on records copied from each benchmark's released files, and answer matching.

``tests/benchmark_records`` holds a few real records per benchmark, verbatim, with a note of
where each came from: a loader that passes here reads the authors' files as they ship them,
flaws included. Hand-made records appear only where a case has no real record (a malformed
line, a format no public file shows) and say so.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framesift.errors import InputError
from framesift.eval import QASample, normalize_answer, option_letter, parse_choice
from framesift.eval.loaders import BENCHMARKS

RECORDS = Path(__file__).parent / "benchmark_records"


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_json(relative: str) -> object:
    return json.loads((RECORDS / relative).read_text(encoding="utf-8"))


def load(name: str, path: Path, **kwargs: object) -> list[QASample]:
    return list(BENCHMARKS.get(name)(**kwargs).load(path))


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def copy(relative: str, folder: Path) -> Path:
    """A fixture file copied into ``folder`` (for tests that add files next to it)."""
    return Path(shutil.copy(RECORDS / relative, folder))


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
        BENCHMARKS.get("nextqaa")


def test_missing_annotation_file_raises_at_load(tmp_path):
    with pytest.raises(InputError, match="not found"):
        BENCHMARKS.build("star").load(tmp_path / "nope.json")


def test_lmms_eval_metric_names_and_scales():
    metrics = {name: BENCHMARKS.get(name).metric for name in BENCHMARKS.names()}
    assert (metrics["videomme"].name, metrics["videomme"].scale) == (
        "videomme_perception_score",
        100,
    )
    assert (metrics["longvideobench"].name, metrics["longvideobench"].scale) == ("lvb_acc", 1)
    assert metrics["mlvu"].name == "mlvu_percetion_score" and metrics["mlvu"].mean_over_types
    assert (metrics["nextqa"].name, metrics["egoschema"].name) == ("exact_match", "score")
    assert metrics["star"].name == "accuracy"


# --------------------------------------------------------------------------- NExT-QA


def test_nextqa_val_csv_maps_videos_and_merges_tp_into_tn():
    samples = load("nextqa", RECORDS / "nextqa/val.csv")  # map_vid_vidorID.json beside it
    assert [s.qid for s in samples] == [
        "CH_4010069381_6",
        "CW_4882821564_1",
        "CH_2435100235_7",
        "TP_6329077812_7",
        "TN_6233408665_8",
    ]
    assert samples[0].video == "1106/4010069381"
    assert samples[0].options == (
        "roll the handle",
        "tap their feet",
        "strum the string",
        "hit with sticks",
        "pat with hand",
    )
    assert [s.answer for s in samples] == [0, 2, 2, 4, 3]
    assert [s.question_type for s in samples] == ["CH", "CW", "CH", "TN", "TN"]  # TP -> TN
    assert [s.group("group") for s in samples] == ["C", "C", "C", "T", "T"]
    assert BENCHMARKS.get("nextqa").breakdown_keys == ("question_type", "group")


def test_nextqa_sevila_json_is_the_csv_row_the_notebook_converted():
    (sevila,) = load("nextqa", RECORDS / "nextqa/sevila_val.json")
    original = load("nextqa", RECORDS / "nextqa/val.csv")[-1]
    assert (sevila.qid, sevila.video, sevila.answer, sevila.question_type) == (
        original.qid,
        original.video,
        original.answer,
        original.question_type,
    )
    # the notebook appends "." to each option and "?" to the question
    assert sevila.options == tuple(f"{o}." for o in original.options)
    assert sevila.question == f"{original.question}?"


def test_nextqa_video_file_resolves_subfolder_and_extension(tmp_path):
    nextqa = BENCHMARKS.build("nextqa")
    samples = list(nextqa.load(copy("nextqa/val.csv", tmp_path)))  # no map beside it
    videos = tmp_path / "NExTVideo"
    want = touch(videos / "1104" / "4882821564.mkv")
    assert nextqa.video_file(videos, samples[1]) == want  # found one folder down
    assert nextqa.video_file(videos, samples[0]) == videos / "4010069381.mp4"  # expected path


def test_nextqa_bad_type_and_bad_answer_name_the_entry(tmp_path):
    rows = read_json("nextqa/sevila_val.json")
    with pytest.raises(InputError, match=r"val\.json: entry 1: .*NExT-QA type"):
        load("nextqa", write_json(tmp_path / "val.json", [*rows, {**rows[0], "qid": "XX_1_2"}]))
    csv = (RECORDS / "nextqa/val.csv").read_text(encoding="utf-8")
    bad = csv.replace(",2,1,CW,", ",two,1,CW,")
    (tmp_path / "val.csv").write_text(bad, encoding="utf-8")
    with pytest.raises(InputError, match=r"val\.csv: line 3: .*'two'"):
        load("nextqa", tmp_path / "val.csv")


# --------------------------------------------------------------------------- STAR


def notebook_star_line(entry: dict) -> dict:
    """STAR entry -> SeViLA line, as Yui010206/SeViLA's ``Data Preprocess.ipynb`` writes it."""
    line = {"video": entry["video_id"], "num_option": 4, "qid": entry["question_id"]}
    for i, choice in enumerate(entry["choices"]):
        line[f"a{i}"] = choice["choice"]
        if choice["choice"] == entry["answer"]:
            line["answer"] = i
    return {**line, "question": entry["question"], "start": entry["start"], "end": entry["end"]}


def test_star_val_json_and_its_sevila_conversion_agree(tmp_path):
    (s,) = load("star", RECORDS / "star/STAR_val.json")
    assert (s.qid, s.video, s.question_type) == ("Interaction_T1_13", "6H78U", "Interaction")
    assert s.options == ("The closet/cabinet.", "The blanket.", "The clothes.", "The table.")
    assert s.answer == 2  # from the answer text
    assert (s.start, s.end) == (11.1, 19.6)
    (entry,) = read_json("star/STAR_val.json")
    (converted,) = load("star", write_json(tmp_path / "val.json", [notebook_star_line(entry)]))
    assert converted == s


def test_star_types_and_test_split(tmp_path):
    (entry,) = read_json("star/STAR_val.json")
    line = notebook_star_line(entry)
    qids = ["Interaction_T1_13", "Sequence_T1_13", "Prediction_T1_13", "Feasibility_T1_13"]
    rows = [{**line, "qid": q} for q in qids]  # the four type prefixes STAR ids carry
    samples = load("star", write_jsonl(tmp_path / "val.jsonl", rows))
    assert [s.question_type for s in samples] == [q.split("_")[0] for q in qids]
    with pytest.raises(InputError, match=r"line 2: .*STAR type"):
        load("star", write_jsonl(tmp_path / "bad.jsonl", [rows[0], {**line, "qid": "Other_1"}]))
    hidden = {k: v for k, v in entry.items() if k != "answer"}  # STAR_test.json's layout
    with pytest.raises(InputError, match=r"STAR_test\.json hides the answers"):
        load("star", write_json(tmp_path / "STAR_test.json", [hidden]))


# --------------------------------------------------------------------------- TVQA


def test_tvqa_original_jsonl():
    (s,) = load("tvqa", RECORDS / "tvqa/tvqa_val_sample.jsonl")
    assert (s.qid, s.video, s.answer, s.start, s.end) == (
        "7",
        "met_s06e22_seg01_clip_02",
        4,
        1.21,
        8.49,
    )
    assert s.options[4] == "A beer bottle" and s.question.startswith("What is Robin holding")


def test_tvqa_public_test_split_is_skipped_not_an_error(tmp_path):
    with pytest.raises(InputError, match=r"tvqa_test_public\.jsonl hides answer_idx"):
        load("tvqa", RECORDS / "tvqa/tvqa_test_public.jsonl")
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(
        (RECORDS / "tvqa/tvqa_val_sample.jsonl").read_text()
        + (RECORDS / "tvqa/tvqa_test_public.jsonl").read_text()
    )
    tvqa = BENCHMARKS.build("tvqa")
    assert [s.qid for s in tvqa.load(mixed)] == ["7"] and tvqa.skipped == 3


def test_tvqa_plus_string_answer_and_list_window():
    a, b = load("tvqa", RECORDS / "tvqa/tvqa_plus_val.json")
    assert (a.qid, a.video, a.answer, a.start, a.end) == (
        "133290",
        "s01e02_seg02_clip_12",
        3,
        0.0,
        5.4,
    )
    assert len(b.options) == 5 and b.answer == int(
        read_json("tvqa/tvqa_plus_val.json")[1]["answer_idx"]
    )


def test_tvqa_sevila_line_and_nan_timestamp(tmp_path):
    (entry,) = [
        json.loads(x) for x in (RECORDS / "tvqa/tvqa_val_sample.jsonl").read_text().splitlines()
    ]
    # the SeViLA notebook's conversion of that entry
    start, end = entry["ts"].split("-")
    line = {
        "video": entry["vid_name"],
        "num_option": 5,
        "qid": "TVQA_0",
        **{f"a{j}": entry[f"a{j}"] for j in range(5)},
        "answer": entry["answer_idx"],
        "question": entry["q"],
        "start": start,
        "end": end,
    }
    nan = {**line, "qid": "TVQA_1", "start": "NaN", "end": "NaN"}
    a, b = load("tvqa", write_json(tmp_path / "tvqa_val.json", [line, nan]))
    (original,) = load("tvqa", RECORDS / "tvqa/tvqa_val_sample.jsonl")
    assert a == QASample(**{**original.__dict__, "qid": "TVQA_0"})
    assert (b.start, b.end) == (None, None)
    with pytest.raises(InputError, match=r"entry 0: .*before start"):
        load("tvqa", write_json(tmp_path / "bad.json", [{**line, "start": "30", "end": "20"}]))


# --------------------------------------------------------------------------- VLEP


def test_vlep_dev_release(tmp_path):
    vlep = BENCHMARKS.build("vlep")
    a, b, c = list(vlep.load(RECORDS / "vlep/vlep_dev_release.jsonl"))
    assert [s.qid for s in (a, b, c)] == ["VLEP_20142", "VLEP_20143", "VLEP_20144"]
    assert a.question == "Which event is more likely to happen next?"
    assert (a.answer, a.options[0], a.start, a.end) == (
        0,
        "Ross will stop, turn and point at Monica.",
        38.81,
        40.37,
    )
    assert (b.answer, c.answer) == (1, 1)
    clip = touch(tmp_path / "tvqa" / "friends_s03e09_seg02_clip_07.mp4")
    assert vlep.video_file(tmp_path / "tvqa", a) == clip  # "_ep" cut, as ViLA reads it


def test_vlep_test_release_is_skipped(tmp_path):
    with pytest.raises(InputError, match=r"vlep_test_release\.jsonl hides the answers"):
        load("vlep", RECORDS / "vlep/vlep_test_release.jsonl")
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(
        (RECORDS / "vlep/vlep_dev_release.jsonl").read_text()
        + (RECORDS / "vlep/vlep_test_release.jsonl").read_text()
    )
    vlep = BENCHMARKS.build("vlep")
    assert len(list(vlep.load(mixed))) == 3 and vlep.skipped == 2


# --------------------------------------------------------------------------- How2QA


def test_how2qa_authors_csv_is_refused_with_a_pointer():
    with pytest.raises(InputError, match=r"original How2QA CSV .* how2qa_val_release\.jsonl"):
        load("how2qa", RECORDS / "how2qa/how2QA_val_release.csv")


def test_how2qa_jsonl_and_sevila_lines(tmp_path):
    # hand-made: no public record of VALUE's how2qa_*_release.jsonl exists (see the loader)
    original = {
        "vid_name": "abc_1_2",
        "q": "What is used?",
        **{f"a{i}": f"tool {i}" for i in range(4)},
        "answer_idx": 3,
        "ts": "4.5-9",
    }
    sevila = {
        "video": "abc_1_2",
        "num_option": 4,
        "qid": "HOW2QA_0",
        **{f"a{i}": f"tool {i}" for i in range(4)},
        "answer": 3,
        "question": "What is used?",
        "start": "4.5",
        "end": "9",
    }
    test_split = {k: v for k, v in original.items() if k != "answer_idx"}
    how2qa = BENCHMARKS.build("how2qa")
    (a,) = list(how2qa.load(write_json(tmp_path / "val.jsonl", [original, test_split])))
    assert how2qa.skipped == 1
    assert load("how2qa", write_json(tmp_path / "sevila.json", [sevila])) == [a]
    assert (a.qid, a.start, a.end, a.answer) == ("HOW2QA_0", 4.5, 9.0, 3)
    assert how2qa.breakdown_keys == ()


# --------------------------------------------------------------------------- Video-MME


def check_videomme(samples: list[QASample]) -> None:
    a, b = samples
    assert (a.qid, a.video, a.answer) == ("001-1", "fFjv93ACGo8", 2)
    assert a.options == (
        "Apples.",
        "Candles.",
        "Berries.",
        "The three kinds are of the same number.",
    )
    assert (a.question_type, b.question_type) == ("Counting Problem", "Information Synopsis")
    assert b.answer == 0 and b.options[0].startswith("It is a news report")
    assert a.group_dict == {
        "domain": "Knowledge",
        "duration": "short",
        "sub_category": "Humanity & History",
    }


def test_videomme_json_jsonl_and_parquet(tmp_path):
    rows = read_json("videomme/videomme.json")
    check_videomme(load("videomme", RECORDS / "videomme/videomme.json"))
    check_videomme(load("videomme", write_jsonl(tmp_path / "videomme.jsonl", rows)))
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "test-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    check_videomme(load("videomme", path))
    videomme = BENCHMARKS.build("videomme")
    assert videomme.breakdown_keys == ("question_type", "duration", "domain")
    video = touch(tmp_path / "data" / "fFjv93ACGo8.MP4")
    assert videomme.video_file(tmp_path / "data", load("videomme", path)[0]) == video
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not parquet")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        load("videomme", tmp_path / "broken.parquet")


def test_videomme_bad_answer_letter_names_the_line(tmp_path):
    rows = read_json("videomme/videomme.json")
    bad = [rows[0], {**rows[1], "answer": "F"}]
    with pytest.raises(InputError, match=r"videomme\.jsonl: line 2: answer 'F' matches no option"):
        load("videomme", write_jsonl(tmp_path / "videomme.jsonl", bad))


# --------------------------------------------------------------------------- MLVU


def test_mlvu_dev_set_loads_with_its_flaws_scored_as_choice_bench_does(tmp_path):
    mlvu = BENCHMARKS.build("mlvu")
    samples = {s.qid: s for s in mlvu.load(RECORDS / "mlvu/json")}
    assert not any(q.startswith(("8_", "9_")) for q in samples)  # generation tasks left out
    assert len(samples) == 9 and mlvu.skipped == 0
    clean = samples["1_plotQA_0"]
    assert (clean.video, clean.answer, clean.question_type, clean.issues) == (
        "1_plotQA/movie101_66.mp4",
        0,
        "plotQA",
        (),
    )
    # ["Blue", "Red", "White", "Blue"], answer "White"
    assert (samples["1_plotQA_1"].answer, samples["1_plotQA_1"].issues) == (
        2,
        ("duplicate_options",),
    )
    # ["", "There is an archery scene", "There is no archery scene", ""]
    archery = samples["1_plotQA_2"]
    assert archery.answer == 1 and archery.issues == ("duplicate_options", "empty_option")
    assert archery.options[0] == archery.options[3] == "(empty)"
    # ["Six", "Three", "Three", "Eight"], answer "Three": the last copy is gold
    assert samples["1_plotQA_3"].answer == 2
    assert samples["6_anomaly_reco_0"].answer == 3  # "Shooting" listed at 0 and 3
    # answer "Catching a flying drone quadcopter" is none of the candidates
    drone = samples["2_needle_1"]
    assert (drone.answer, drone.issues, drone.question_type) == (
        None,
        ("answer_not_in_options",),
        "needle",  # findNeedle, named as MLVU's and lmms-eval's code name the task
    )
    blank = samples["7_topic_reasoning_0"]  # question, candidates and answer all ""
    assert blank.issues == ("duplicate_options", "empty_question", "empty_option")
    assert (blank.question, blank.answer) == ("Which option is right?", 3)
    video = touch(tmp_path / "video" / "1_plotQA" / "movie101_66.mp4")
    assert mlvu.video_file(tmp_path / "video", clean) == video
    flat = touch(tmp_path / "flat" / "needle_4.mp4")
    assert mlvu.video_file(tmp_path / "flat", drone) == flat
    single = load("mlvu", RECORDS / "mlvu/json/1_plotQA.json")
    assert single[0] == clean


# --------------------------------------------------------------------------- LongVideoBench


def test_longvideobench_val_and_lmms_eval_option_columns(tmp_path):
    lv = BENCHMARKS.build("longvideobench")
    (s,) = list(lv.load(RECORDS / "longvideobench/lvb_val.json"))
    assert (s.qid, s.video, s.answer, s.question_type) == (
        "86CxyhFV9MI_0",
        "86CxyhFV9MI.mp4",
        1,
        "TOS",
    )
    assert s.group("duration_group") == "600" and (s.start, s.end) == (None, None)
    assert len(s.options) == 4 and lv.breakdown_keys == ("question_type", "duration_group")
    # the same entry in the parquet layout lmms-eval reads (option0..4, unused ones "N/A")
    (entry,) = read_json("longvideobench/lvb_val.json")
    hf = {k: v for k, v in entry.items() if k != "candidates"}
    hf |= {f"option{i}": c for i, c in enumerate([*entry["candidates"], "N/A"])}
    (h,) = load("longvideobench", write_jsonl(tmp_path / "lvb.jsonl", [hf]))
    assert (h.options, h.answer) == (s.options, 1)


def test_longvideobench_test_split_entries_are_skipped_and_counted(tmp_path):
    (entry,) = read_json("longvideobench/lvb_val.json")
    hidden = {k: v for k, v in entry.items() if k != "correct_choice"}  # lvb_test_wo_gt.json
    rows = [entry, {**hidden, "id": "86CxyhFV9MI_1"}]
    lv = BENCHMARKS.build("longvideobench")
    assert [s.qid for s in lv.load(write_json(tmp_path / "lvb.json", rows))] == ["86CxyhFV9MI_0"]
    assert lv.skipped == 1
    with pytest.raises(InputError, match="ground-truth answer"):
        list(lv.load(write_json(tmp_path / "lvb_test_wo_gt.json", [hidden])))


# --------------------------------------------------------------------------- EgoSchema


def test_egoschema_public_subset_answers():
    ego = BENCHMARKS.build("egoschema")
    (s,) = list(ego.load(RECORDS / "egoschema/questions.json"))  # subset_answers.json beside
    assert (s.qid, s.video, s.answer) == ("0074f737-11cb-497d-8d07-77c3a8127391",) * 2 + (3,)
    assert s.options[3] == "C is cleaning dishes." and ego.skipped == 2


def test_egoschema_answers_elsewhere_or_none(tmp_path):
    questions = copy("egoschema/questions.json", tmp_path)
    with pytest.raises(InputError, match=r"subset_answers\.json"):
        load("egoschema", questions)  # no answers file beside it
    (s,) = load("egoschema", questions, answers=RECORDS / "egoschema/subset_answers.json")
    assert s.answer == 3
    with pytest.raises(InputError, match="not found"):
        BENCHMARKS.get("egoschema")(answers=tmp_path / "missing.json").load(questions)


# --------------------------------------------------------------------------- ActivityNet-QA


def test_activitynet_qa_val_questions_and_answers(tmp_path):
    anet = BENCHMARKS.build("activitynet_qa")
    samples = list(anet.load(RECORDS / "activitynet_qa/val_q.json"))  # val_a.json beside it
    assert [s.question_type for s in samples] == [
        "Yes/No",
        "Yes/No",
        "Yes/No",
        "Motion",
        "Spatial Relationship",
        "Temporal Relationship",
        "Color",
    ]
    assert [s.group("family") for s in samples] == ["Free"] * 3 + [
        "Motion",
        "Spatial Relationship",
        "Temporal Relationship",
        "Free",
    ]
    first = samples[0]
    assert (first.qid, first.video, first.answer, first.options) == (
        "v_TIEzvhv6xaI_2",
        "TIEzvhv6xaI",
        "yes",
        (),
    )
    video = touch(tmp_path / "videos" / "v_TIEzvhv6xaI.webm")
    assert anet.video_file(tmp_path / "videos", first) == video
    questions = copy("activitynet_qa/val_q.json", tmp_path)
    write_json(tmp_path / "val_a.json", read_json("activitynet_qa/val_a.json")[:-1])
    assert len(list(anet.load(questions))) == 6 and anet.skipped == 1


# --------------------------------------------------------------------------- generic JSONL


def test_generic_readme_example():
    (s,) = load("generic", RECORDS / "generic/questions.jsonl")
    assert (s.qid, s.video, s.answer, s.question_type, s.start, s.end) == (
        "q1",
        "clips/cooking.mp4",
        1,
        "order",
        12.0,
        48.5,
    )
    assert s.options == ("salt", "oil", "flour") and s.group("split") == "hard"


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
