"""Every bad ``ask`` input is one line on stderr, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import pytest
from media import TREE

from framesift.cli.main import main

LETTERS_PLUS_ONE = [arg for i in range(27) for arg in ("--option", f"thing {i}")]

CASES = {
    "unknown parameter": (["--param", "nonexistent_key=1"], "has no parameter 'nonexistent_key'"),
    "parameter of an unknown part": (["--param", "decoder.x=1"], "unknown part 'decoder'"),
    "argument to a selector without one": (["--selector", "topk:foo"], "takes no ':' argument"),
    "vila without a checkpoint": (["--selector", "vila"], "needs an argument: vila:CHECKPOINT"),
    "unknown selector": (["--selector", "best"], "choose one of"),
    "merge weights of a merger without any": (["--merge", "mean:w.safetensors"], "takes no"),
    "negative threads": (["--threads", "-1"], "threads must be at least 1, got"),
    "zero threads": (["--threads", "0"], "threads must be at least 1, got"),
    "zero budget": (["--budget", "0"], "budget must be at least 1"),
    "empty window": (["--end", "0"], "the window is empty"),
    "unknown device": (["--device", "tpu"], "device must be"),
    "unknown dtype": (["--dtype", "int4"], "dtype must be one of"),
    "more options than letters": (LETTERS_PLUS_ONE, "at most 26"),
    "duplicate options": (["--option", "a cat", "--option", "A cat "], "are the same"),
    "one option": (["--option", "a cat"], "at least two options"),
    "missing hub model": (["--encoder", "hf:does/not-exist"], "not available locally"),
    "missing model folder": (["--encoder", "hf:/missing/folder"], "does not exist"),
    "llava-ov offline": (
        ["--answerer", "llava-ov", "--option", "a", "--option", "b"],
        "not available locally",
    ),
}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """This machine has no route to the hub; say so, as a user without network would."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_ask_refuses_in_one_line(case, tmp_path, capsys):
    extra, message = CASES[case]
    cache = tmp_path / "cache"
    code = main(["ask", str(TREE), "Is there a tree?", "--cache-dir", str(cache), *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("framesift: error: "), err
    assert message in lines[0]
    assert "Traceback" not in err
    assert not cache.exists() or not any(cache.rglob("*.safetensors")), "nothing half-built"


def test_cache_dir_that_is_a_file_fails_before_decoding(tmp_path, capsys):
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder")
    assert main(["ask", str(TREE), "Is there a tree?", "--cache-dir", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file" in err
    assert blocker.read_text() == "not a folder"


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="has no parameter"):
        main(["--debug", "ask", str(TREE), "q", "--param", "nonexistent_key=1"])
