"""Answerers: the question, its options and the selected keyframes in, an answer out."""

from framesift.answer.base import Answer, Answerer, Evidence
from framesift.registry import Registry

ANSWERERS: Registry[Answerer] = Registry(
    "answerer",
    {"similarity": "framesift.answer.similarity:SimilarityAnswerer"},
)

__all__ = ["ANSWERERS", "Answer", "Answerer", "Evidence"]
