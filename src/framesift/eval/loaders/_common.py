"""Plumbing shared by the benchmark loaders: reading records, naming bad entries, finding videos.

Annotation files come as a JSON array, JSON Lines (whatever the suffix: some ``.json`` releases
are JSON Lines and some ``.jsonl`` ones are arrays, so the content decides), CSV, or Parquet
(needs ``pyarrow``: ``pip install 'framesift[eval]'``). Every record is located ("line 7",
"entry 3", "row 12") so a malformed one raises an ``InputError`` naming file, place and fault;
whether to skip it is the harness's decision, not the loader's.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from framesift.errors import InputError
from framesift.eval.loaders import Metric
from framesift.eval.samples import LETTERS, QASample

Record = dict[str, Any]

# Tried in this order when a name has no extension; lower then upper case (Video-MME has .MP4).
VIDEO_EXTS = (".mp4", ".mkv", ".webm", ".avi", ".mov")


def read_records(path: Path) -> Iterator[tuple[str, Record]]:
    """``(location, record)`` for each record of an annotation file, in file order."""
    suffix = path.suffix.lower()
    items = (
        _parquet(path) if suffix == ".parquet" else _csv(path) if suffix == ".csv" else _json(path)
    )
    for loc, rec in items:
        if not isinstance(rec, dict):
            raise InputError(f"{path}: {loc}: expected an object, got {type(rec).__name__}")
        yield loc, rec


def read_text(path: Path) -> str:
    """A whole annotation file as text: UTF-8 (a byte-order mark is dropped), or ``InputError``."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from e
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            f"{path} is not UTF-8 text (byte {e.start} is {data[e.start]:#04x}); save it as UTF-8"
        ) from e


def _json(path: Path) -> Iterator[tuple[str, Any]]:
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        if text.lstrip().startswith("["):  # a broken array, not JSON Lines
            raise InputError(f"{path}: line {e.lineno}: invalid JSON ({e.msg})") from e
        yield from _jsonl(path, text)
        return
    if isinstance(data, list):
        yield from ((f"entry {i}", rec) for i, rec in enumerate(data))
    elif isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        yield from ((f"entry {k!r}", rec) for k, rec in data.items())  # records keyed by id
    else:
        yield "line 1", data  # a one-line JSON Lines file


def _jsonl(path: Path, text: str) -> Iterator[tuple[str, Any]]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"line {n}", json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}: line {n}: invalid JSON ({e.msg})") from e


def _csv(path: Path) -> Iterator[tuple[str, Any]]:
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    try:
        for rec in reader:
            yield f"line {reader.line_num}", rec
    except csv.Error as e:
        raise InputError(f"{path}: line {reader.line_num}: invalid CSV ({e})") from e


def _parquet(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise InputError(
            f"{path} is Parquet, which needs pyarrow: pip install 'framesift[eval]' "
            "(or convert it to JSON Lines)"
        ) from e
    import pyarrow

    try:
        rows = pq.read_table(path).to_pylist()
    except (OSError, pyarrow.ArrowException) as e:
        raise InputError(f"{path} is not a readable Parquet file ({e})") from e
    yield from ((f"row {i}", rec) for i, rec in enumerate(rows))


@contextmanager
def located(path: Path, loc: str) -> Iterator[None]:
    """Re-raise any fault of one malformed record as ``InputError("<file>: <loc>: <what>")``."""
    try:
        yield
    except KeyError as e:
        raise InputError(f"{path}: {loc}: missing field {e.args[0]!r}") from e
    except (ValueError, TypeError, IndexError, AttributeError) as e:  # InputError: ValueError
        raise InputError(f"{path}: {loc}: {e}") from e


def field(rec: Record, *names: str) -> Any:
    """Value of the first of ``names`` present and not null; ``InputError`` naming them if none."""
    for name in names:
        if rec.get(name) is not None:
            return rec[name]
    raise InputError(f"missing field {' or '.join(repr(n) for n in names)}")


def text(rec: Record, *names: str) -> str:
    """``field`` as stripped text; ids stored as numbers (NExT-QA, TVQA) become strings."""
    value = field(rec, *names)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InputError(f"field {names[0]!r} must be text, got {value!r}")
    return str(value).strip()


def optional_text(rec: Record, name: str) -> str | None:
    return text(rec, name) if rec.get(name) is not None else None


def text_list(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InputError(f"field {name!r} must be a list of texts, got {value!r}")
    return tuple(str(v).strip() for v in value)


def seconds(value: Any, name: str) -> float | None:
    """A time in seconds; ``None``, ``""`` and NaN (TVQA has ``"NaN"`` stamps) mean no time."""
    if value is None or (isinstance(value, str) and value.strip() in ("", "NaN", "nan")):
        return None
    if isinstance(value, bool):
        raise InputError(f"{name} must be a number of seconds, got {value!r}")
    try:
        t = float(value)
    except (TypeError, ValueError) as e:
        raise InputError(f"{name} must be a number of seconds, got {value!r}") from e
    return None if math.isnan(t) else t


def strip_letter_prefixes(options: Sequence[str]) -> tuple[str, ...]:
    """``["A. cat", "B. dog"]`` -> ``("cat", "dog")``, only if every option has its own letter."""
    prefixes = [(f"{LETTERS[i]}.", f"({LETTERS[i]})") for i in range(len(options))]
    if all(o.startswith(p) for o, p in zip(options, prefixes, strict=True)):
        return tuple(o.split(maxsplit=1)[1] if " " in o else "" for o in options)
    return tuple(options)


def find_video(videos_dir: Path, *names: str) -> Path:
    """First existing file among ``names`` (relative to ``videos_dir``), trying extensions.

    A name with a video extension is tried as given, then with the other extensions; a name
    without one gets each of ``VIDEO_EXTS`` appended. Nothing found: the first candidate
    (``<name>.mp4`` for a bare name), so the caller's error names the expected file.
    """
    candidates: list[Path] = []
    for name in names:
        p = videos_dir / name
        if p.suffix.lower() in VIDEO_EXTS:
            stem = p.with_suffix("")
            candidates += [p, *(Path(f"{stem}{e}") for e in VIDEO_EXTS if e != p.suffix)]
        else:
            candidates += [Path(f"{p}{e}") for e in VIDEO_EXTS]
    for c in candidates:
        for cand in (c, c.with_suffix(c.suffix.upper())):
            if cand.is_file():
                return cand
    return candidates[0]


class BaseBenchmark:
    """Reads records, turns each into a ``QASample`` with ``parse``, locates faults.

    ``parse`` returns ``None`` for a question without a ground-truth answer (EgoSchema outside
    the public subset, test splits that hide answers, ActivityNet-QA questions missing from the
    answers file): such questions are skipped and counted in ``skipped``, since accuracy cannot
    count them. Loading raises instead of yielding nothing when *every* question lacks an
    answer or the file holds no question at all, and when two questions share an id (a resumed
    run keys its answers by id, so one of them would be lost).
    """

    name: str = ""
    breakdown_keys: tuple[str, ...] = ()
    metric = Metric()
    answers_hint = "this file carries no ground-truth answers"

    def __init__(self) -> None:
        self.skipped = 0

    def load(self, annotations: Path) -> Iterator[QASample]:
        """Samples of one annotation file; a missing file raises now, bad records when reached."""
        path = Path(annotations)
        if not path.is_file():
            raise InputError(f"{self.name} annotations not found (or not a file): {path}")
        self.skipped = 0
        return self._samples([path])

    def _samples(self, paths: Sequence[Path]) -> Iterator[QASample]:
        seen: dict[str, str] = {}  # qid -> where it first appeared
        for path in paths:
            for index, (loc, rec) in enumerate(read_records(path)):
                with located(path, loc):
                    sample = self.parse(rec, index, path)
                if sample is None:
                    self.skipped += 1
                    continue
                first = seen.setdefault(sample.qid, f"{path.name}: {loc}")
                if first != f"{path.name}: {loc}":
                    raise InputError(
                        f"{path}: {loc}: question id {sample.qid!r} is already used at "
                        f"{first}; every question needs its own id"
                    )
                yield sample
        files = ", ".join(map(str, paths))
        if not seen and self.skipped:
            raise InputError(
                f"none of the {self.skipped} {self.name} questions in {files} has a "
                f"ground-truth answer: {self.answers_hint}"
            )
        if not seen:
            raise InputError(f"{files} holds no {self.name} questions")

    def parse(self, rec: Record, index: int, source: Path) -> QASample | None:
        """One record (``index``: 0-based position in ``source``) -> sample, or ``None``."""
        raise NotImplementedError

    def video_file(self, videos_dir: Path, sample: QASample) -> Path:
        return find_video(Path(videos_dir), sample.video)


def load_json(path: Path, what: str) -> Any:
    """A whole JSON file that is not a list of QA records (an answers map, a video-id map)."""
    if not path.is_file():
        raise InputError(f"{what} not found (or not a file): {path}")
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: line {e.lineno}: invalid JSON ({e.msg})") from e
