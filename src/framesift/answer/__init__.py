"""Answerers: the question, its options and the selected keyframes in, an answer out."""

from framesift.answer.base import Answer, Answerer, Evidence, PatchEncoder, TokenAnswerer
from framesift.registry import Registry

ANSWERERS: Registry[Answerer] = Registry(
    "answerer",
    {
        "similarity": "framesift.answer.similarity:SimilarityAnswerer",
        "llava-ov": "framesift.answer.llava_ov:LlavaOneVisionAnswerer",
        "llava-ov-likelihood": "framesift.answer.llava_ov:LlavaOneVisionLikelihood",
        "vila": "framesift.vila.answerer:ViLAAnswerer",
        "vila-teacher": "framesift.vila.answerer:ViLATeacherAnswerer",
    },
)

__all__ = ["ANSWERERS", "Answer", "Answerer", "Evidence", "PatchEncoder", "TokenAnswerer"]
