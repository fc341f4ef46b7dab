"""Document functions of the framesift_tiny tasks (lmms-eval loads them by the yaml's !function)."""

import os

from lmms_eval.tasks._task_utils.mcq_extract import extract_mcq_answer

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def doc_to_visual(doc):
    return [os.path.join(os.environ["FRAMESIFT_LMMS_VIDEOS"], doc["video"])]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    kwargs = lmms_eval_specific_kwargs or {}
    # Video-MME and LongVideoBench write "A. text"; MLVU writes "(A) text"
    layout = "({}) {}" if doc.get("layout") == "mlvu" else "{}. {}"
    options = "\n".join(layout.format(LETTERS[i], o) for i, o in enumerate(doc["options"]))
    pre, post = kwargs.get("pre_prompt", ""), kwargs.get("post_prompt", "")
    return f"{pre}{doc['question']}\n{options}{post}"


def process_results(doc, results):
    letters = list(LETTERS[: len(doc["options"])])
    return {"accuracy": float(extract_mcq_answer(results[0], choices=letters) == doc["answer"])}


def doc_to_text_open(doc, lmms_eval_specific_kwargs=None):
    return doc["question"]


def doc_to_target_open(doc):
    return doc["options"][LETTERS.index(doc["answer"])]


def process_results_open(doc, results):
    return {"exact_match": float(results[0].strip().lower() == doc_to_target_open(doc))}


def doc_to_choice(doc):
    return doc["options"]


def doc_to_target_index(doc):
    return LETTERS.index(doc["answer"])
