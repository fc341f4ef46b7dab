"""Evaluation on video-QA benchmarks: one sample shape, loaders for the released formats.

Pure Python (Parquet annotations need the ``eval`` extra); importing it loads no model code.
"""

from framesift.answer.choices import option_letter, parse_choice
from framesift.eval.samples import QASample, normalize_answer

__all__ = ["QASample", "normalize_answer", "option_letter", "parse_choice"]
