"""Option letters and reading a model's reply back as an option.

``parse_choice`` reads *model output* conservatively: anything it is not sure of is ``None``,
scored as wrong, never a guess. Answerers that generate text use it; the evaluation harness
uses the same letters for its gold labels.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def option_letter(index: int) -> str:
    """``0 -> "A"``, ``1 -> "B"``...: the label option ``index`` gets in a prompt."""
    return LETTERS[index]


def normalize_text(text: str) -> str:
    """Case- and whitespace-insensitive form; a trailing period is dropped (SeViLA appends one)."""
    return " ".join(text.casefold().split()).rstrip(".").strip()


def text_matches(text: str, options: Sequence[str]) -> list[int]:
    key = normalize_text(text)
    return [i for i, o in enumerate(options) if normalize_text(o) == key]


# parse_choice patterns, in precedence order (see its docstring).
_STRIP = str.maketrans("", "", "*`")
_BARE = re.compile(r"^\(?([A-Za-z])\)?\s*[.:)]?$")
_EXPLICIT = re.compile(  # the marker ignores case, the letter does not (see parse_choice)
    r"(?i:\b(?:answer|option|choice)\b(?:\s+(?:is|would\s+be|should\s+be))?)\s*:?\s*"
    r"(?:\(([A-Za-z])\)|\(?([A-Z])\b|([a-z])(?=\s*(?:$|[.,;:!)\]])))"
)
_LEADING = re.compile(r"^(?:\(([A-Za-z])\)|([A-Z])[.:)])(?:\s|$)")


def _letter(letter: str, n: int) -> int | None:
    i = LETTERS.index(letter.upper())
    return i if i < n else None


def parse_choice(text: str, options: Sequence[str]) -> int | None:
    """Option index a generated answer commits to, or ``None`` when it does not say clearly.

    Markdown ``*``/backticks are removed first. Then, first rule that fires wins:

    1. the whole reply is a letter: ``"B"``, ``"(b)"``, ``"B."``, ``"c)"``;
    2. an explicit marker: ``answer``/``option``/``choice`` (optionally ``is`` and ``:``) then
       a letter: ``"The answer is B"``, ``"Answer: (c)"``, ``"Best option: (C"``. After a
       marker an unbracketed letter must be upper case, or lower case and end the clause, so
       ``"the answer is a dog"`` is not read as ``A``. Several different letters -> ``None``;
    3. a leading letter with a delimiter: ``"B. text"``, ``"(B) text"``, ``"B) text"``,
       ``"B: text"``; a delimiter is required, so the article in ``"A dog runs"`` is not ``A``;
    4. option text: the reply equals one option's text, or contains exactly one option's text
       as whole words (an option contained in a longer contained option does not count).

    A letter beyond the last option is ``None``: the model named an option that does not exist.
    """
    n = len(options)
    reply = text.translate(_STRIP).strip().strip("\"'").strip()
    if not reply or n == 0:
        return None
    m = _BARE.match(reply)
    if m:
        return _letter(m.group(1), n)
    letters = {next(g for g in e.groups() if g).upper() for e in _EXPLICIT.finditer(reply)}
    if letters:
        return _letter(letters.pop(), n) if len(letters) == 1 else None
    m = _LEADING.match(reply)
    if m:
        return _letter(m.group(1) or m.group(2), n)
    exact = text_matches(reply, options)
    if exact:
        return exact[0] if len(exact) == 1 else None
    said = normalize_text(reply)
    found = {
        i: normalize_text(o)
        for i, o in enumerate(options)
        if normalize_text(o) and re.search(rf"(?<!\w){re.escape(normalize_text(o))}(?!\w)", said)
    }
    maximal = [i for i, o in found.items() if not any(o != p and o in p for p in found.values())]
    return maximal[0] if len(maximal) == 1 else None


def letter_token_ids(tokenize: Callable[[str], Sequence[int]], n: int) -> list[list[int]]:
    """Per option letter of ``n``, the token ids a model can answer it with, for likelihood
    scoring: ``"A"`` and ``" A"`` where each is one token (BPE vocabularies hold both), else the
    first token of ``"A"``. ``tokenize`` maps text to ids without special tokens."""
    out = []
    for i in range(n):
        letter = option_letter(i)
        variants = [list(tokenize(v)) for v in (letter, " " + letter)]
        single = sorted({v[0] for v in variants if len(v) == 1})
        out.append(single or [variants[0][0]])
    return out
