"""The run folder of ``framesift eval``: its files, and the only code that reads or writes them.

::

    OUT/config.json    what the run is: benchmark, annotations, pipeline, shard, limit, the
                       digest of the questions it was started on and how many there are
    OUT/samples.jsonl  one JSON record per answered question, appended and flushed
    OUT/results.json   the aggregate, replaced atomically

``claim`` makes a folder one run's before anything is written to it: a new folder gets its
``config.json``; a folder that holds a run continues it only if the identity *and* the questions
are the same, so a resumed run never mixes answers scored against two versions of the gold
answers. Every refusal is an ``InputError`` naming the folder and how to start fresh.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from framesift.errors import InputError

SAMPLES_FILE = "samples.jsonl"
CONFIG_FILE = "config.json"
RESULTS_FILE = "results.json"
DIGEST_KEY = "annotations_digest"
COUNTS_KEY = "questions"  # {"original": every question, "effective": this run's, "skipped": ...}


def check_out(out: Path) -> None:
    """Refuse an ``out`` that is a file, before any work (``claim`` checks the rest)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; name a folder for the run")


def claim(out: Path, config: dict[str, Any]) -> None:
    """Make ``out`` the folder of the run described by ``config`` (identity, digest, counts).

    A folder with the same identity and digest is continued; any other run, a folder of
    answers without a ``config.json``, or changed annotations are refused.
    """
    check_out(out)
    path = out / CONFIG_FILE
    if path.is_file():
        _check_same_run(out, read_config(out), config)
        return
    if (out / SAMPLES_FILE).exists():
        raise InputError(
            f"{out} holds {SAMPLES_FILE} but no {CONFIG_FILE}, so it cannot be resumed safely; "
            "choose another --out or delete the folder"
        )
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, json.dumps(config, indent=1))


def _check_same_run(out: Path, previous: dict[str, Any], config: dict[str, Any]) -> None:
    def identity(c: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in c.items() if k not in (DIGEST_KEY, COUNTS_KEY)}

    fresh = f"start fresh with another --out (or delete {out})"
    if identity(previous) != json.loads(json.dumps(identity(config))):
        raise InputError(
            f"{out} holds a run with a different configuration ({out / CONFIG_FILE}); "
            f"resume with the same arguments, or {fresh}"
        )
    if DIGEST_KEY not in previous:
        raise InputError(
            f"{out} was started by an older framesift that did not record a digest of the "
            f"annotations, so a resumed run could mix gold answers; {fresh}"
        )
    if previous[DIGEST_KEY] != config[DIGEST_KEY]:
        raise InputError(
            f"the annotations of the run in {out} changed since it started (their digest "
            f"differs from {CONFIG_FILE}), so its answers were scored against other gold "
            f"answers; {fresh}"
        )


def read_config(folder: Path) -> dict[str, Any]:
    """The ``config.json`` of an eval run folder, or an ``InputError`` saying it is not one."""
    return _read_json(folder, CONFIG_FILE)


def read_results(folder: Path) -> dict[str, Any]:
    return _read_json(folder, RESULTS_FILE)


def _read_json(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    if not path.is_file():
        raise InputError(f"{folder} is not an eval run folder: {path} not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path} is not valid JSON ({e}); fix or delete it") from e
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a JSON object; fix or delete it")
    return data


def read_samples(folder: Path, *, repair: bool = False) -> list[dict[str, Any]]:
    """The complete records of ``samples.jsonl``; with ``repair``, cut a half-written tail.

    Only a last line without its newline can be half-written (lines are appended whole and
    flushed); it is dropped, and with ``repair`` removed from the file so appends stay clean.
    A malformed line elsewhere means the file was edited: that is an error, not a guess.
    """
    path = folder / SAMPLES_FILE
    if not path.exists():
        return []
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if repair and len(complete) != len(data):
        with open(path, "r+b") as f:
            f.truncate(len(complete))
    records = []
    for number, line in enumerate(complete.splitlines(), 1):
        try:
            record = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}:{number} is not a JSON record; fix or delete it") from exc
        if not isinstance(record, dict) or "qid" not in record:
            raise InputError(f"{path}:{number} is not a sample record; fix or delete it")
        records.append(record)
    return records


@contextmanager
def appending_samples(folder: Path) -> Iterator[Callable[[dict[str, Any]], None]]:
    """``append(record)`` writes one line of ``samples.jsonl`` and makes it durable at once."""
    with open(folder / SAMPLES_FILE, "a", encoding="utf-8") as f:

        def append(record: dict[str, Any]) -> None:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())

        yield append


def write_samples(folder: Path, records: list[dict[str, Any]]) -> None:
    """Replace ``samples.jsonl`` whole (a merge): readers see the old file or the new one."""
    _write_atomic(folder / SAMPLES_FILE, "".join(json.dumps(r) + "\n" for r in records))


def write_results(folder: Path, results: dict[str, Any]) -> None:
    _write_atomic(folder / RESULTS_FILE, json.dumps(results, indent=1))


def _write_atomic(path: Path, text: str) -> None:
    """Write beside ``path`` and rename over it, so no reader sees a half-written file."""
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)
