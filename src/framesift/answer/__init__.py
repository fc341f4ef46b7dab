"""Answerers: one ``AnswerRequest`` (question, options, evidence) in, an ``Answer`` out.

ViLA's trained answerers (``vila:CHECKPOINT``, ``vila-teacher:CHECKPOINT``) register
themselves from the training layer through the ``framesift.answerers`` entry-point group.
"""

from framesift.answer.base import Answer, Answerer, AnswerRequest, Evidence
from framesift.registry import Registry

ANSWERERS: Registry[Answerer] = Registry(
    "answerer",
    {
        "similarity": "framesift.answer.similarity:SimilarityAnswerer",
        "llava-ov": "framesift.answer.llava_ov:LlavaOneVisionAnswerer",
        "llava-ov-likelihood": "framesift.answer.llava_ov:LlavaOneVisionLikelihood",
        "qwen2.5-vl": "framesift.answer.qwen_vl:QwenVLAnswerer",
        "qwen2.5-vl-likelihood": "framesift.answer.qwen_vl:QwenVLLikelihood",
        "qwen3-vl": "framesift.answer.qwen_vl:Qwen3VLAnswerer",
        "qwen3-vl-likelihood": "framesift.answer.qwen_vl:Qwen3VLLikelihood",
    },
)

__all__ = ["ANSWERERS", "Answer", "AnswerRequest", "Answerer", "Evidence"]
