"""One benchmark question in a common shape, and how ground-truth answers map to options.

Every benchmark loader turns its own annotation format into ``QASample``; the harness never sees
a benchmark-specific field. ``normalize_answer`` reads *ground truth* (strict: anything it cannot
map raises); reading *model output* is the answer stage's ``answer.choices.parse_choice``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from framesift.answer.choices import LETTERS, normalize_text, text_matches
from framesift.errors import InputError

Groups = tuple[tuple[str, str], ...]

# Departures from a benchmark's own rules that a released file really contains, each scored as
# that benchmark's evaluation code scores it (see the loader that sets it).
ISSUES = ("duplicate_options", "answer_not_in_options", "empty_question", "empty_option")


def make_groups(mapping: Mapping[str, object] | None = None, **groups: object) -> Groups:
    """Groups as a sorted tuple of ``(key, value)`` pairs, values as ``str``, ``None`` dropped."""
    merged = {**(mapping or {}), **groups}
    return tuple(sorted((str(k), str(v)) for k, v in merged.items() if v is not None))


@dataclass(frozen=True)
class QASample:
    """A question about one video (or one ``[start, end]`` clip of it).

    ``video``: path relative to the benchmark's videos folder as the annotation gives it (with
    an extension if the format has one); ``Benchmark.video_file`` resolves it to a file.
    ``options``: the option texts without letter prefixes; empty for an open-ended question.
    ``answer``: option index for multiple choice, reference text for open-ended; ``None`` for a
    multiple-choice question whose released answer is none of its options (MLVU ships a few):
    every reply is then wrong, as the benchmark's own scorer has it.
    ``issues``: how the released entry departs from its benchmark's rules (``ISSUES``), kept and
    scored the way the benchmark's own code scores it; counted in ``results.json``.
    ``groups``: benchmark-specific breakdown keys as sorted ``(key, value)`` pairs (a tuple, so
    the sample stays hashable; a dict passed in is converted); ``group(key)`` and
    ``group_dict`` read them.
    ``start``/``end``: the clip window in seconds, or ``None`` for the whole video.
    """

    qid: str
    video: str
    question: str
    options: tuple[str, ...]
    answer: int | str | None
    question_type: str | None = None
    groups: Groups = ()
    start: float | None = None
    end: float | None = None
    issues: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # One validation point, so every loader rejects the same broken entries the same way.
        if isinstance(self.groups, Mapping):  # a plain dict is accepted and frozen here
            object.__setattr__(self, "groups", make_groups(self.groups))
        if not self.qid:
            raise InputError("empty question id")
        if not self.video:
            raise InputError(f"question {self.qid!r} names no video")
        if not self.question.strip():
            raise InputError(f"question {self.qid!r} has an empty question text")
        unknown = sorted(set(self.issues) - set(ISSUES))
        if unknown:
            raise InputError(f"question {self.qid!r}: unknown issue(s) {unknown}; known: {ISSUES}")
        if self.options:
            if len(self.options) < 2:
                raise InputError(f"question {self.qid!r} has a single option; need 2 or more")
            if self.answer is None:
                if "answer_not_in_options" not in self.issues:
                    raise InputError(
                        f"question {self.qid!r} has no correct option; a loader marks such "
                        "an entry with the 'answer_not_in_options' issue"
                    )
            elif isinstance(self.answer, bool) or not isinstance(self.answer, int):
                raise InputError(
                    f"question {self.qid!r}: a multiple-choice answer must be an option index, "
                    f"got {self.answer!r}; convert it with normalize_answer"
                )
            elif not 0 <= self.answer < len(self.options):
                raise InputError(
                    f"question {self.qid!r}: answer index {self.answer} is out of range for "
                    f"{len(self.options)} options"
                )
        elif not isinstance(self.answer, str) or not self.answer.strip():
            raise InputError(f"open-ended question {self.qid!r} needs a non-empty reference text")
        for name in ("start", "end"):
            t = getattr(self, name)
            if t is not None and (not math.isfinite(t) or t < 0):
                raise InputError(f"question {self.qid!r}: {name} must be >= 0 seconds, got {t}")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise InputError(
                f"question {self.qid!r}: clip end {self.end} s is before start {self.start} s"
            )

    @property
    def is_multiple_choice(self) -> bool:
        return bool(self.options)

    @property
    def group_dict(self) -> dict[str, str]:
        return dict(self.groups)

    def group(self, key: str) -> str | None:
        """The value of breakdown key ``key`` (``"question_type"`` included), or ``None``."""
        if key == "question_type":
            return self.question_type
        return self.group_dict.get(key)


_LETTER_ANSWER = re.compile(r"^\(?([A-Za-z])\)?(?:[.:)]\s*(.*))?$", re.DOTALL)


def normalize_answer(raw: object, options: Sequence[str]) -> int:
    """Ground-truth answer in any common spelling -> option index; ``InputError`` if none fits.

    Accepted: an index (``1``, ``1.0``, ``"1"``; 0-based), a letter (``"B"``, ``"(b)"``,
    ``"B."``, ``"B. <text of option B>"``), or the full option text, compared case- and
    whitespace-insensitively and ignoring a trailing period. For strings the option text is
    tried first, so an option literally spelled ``"2"`` or ``"B"`` matches as text (MLVU counting
    questions have numeric option texts and give the answer as text).
    """
    n = len(options)
    if n == 0:
        raise InputError("normalize_answer needs the options of a multiple-choice question")
    if isinstance(raw, bool):
        raise InputError(f"answer {raw!r} is a boolean, not an option")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    elif not isinstance(raw, (str, float)) and hasattr(raw, "__index__"):
        raw = operator.index(raw)  # numpy integers from pandas-made files
    if isinstance(raw, int):
        if 0 <= raw < n:
            return raw
        raise InputError(f"answer index {raw} is out of range for {n} options")
    if not isinstance(raw, str):
        raise InputError(f"answer {raw!r} is neither an index, a letter nor an option text")
    text = raw.strip()
    hits = text_matches(text, options)
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        exact = [i for i in hits if options[i].strip() == text]
        if len(exact) == 1:
            return exact[0]
        raise InputError(f"answer {raw!r} matches several options {hits}: ambiguous")
    m = _LETTER_ANSWER.match(text)
    if m:
        i = LETTERS.index(m.group(1).upper())
        rest = m.group(2)
        if i < n and (not rest or normalize_text(rest) == normalize_text(options[i])):
            return i
    if text.isdigit() and int(text) < n:
        return int(text)
    raise InputError(
        f"answer {raw!r} matches no option (letters A-{LETTERS[n - 1]}, indices 0-{n - 1}, "
        f"or one of {list(options)})"
    )
