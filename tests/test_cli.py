"""The command line end to end: output, JSON, and every error a user can make."""

from __future__ import annotations

import json
import subprocess
import sys
import wave

import av
import numpy as np
import pytest
from media import TREE, VTEST
from tiny_models import save_tiny_clip

from framesift.cli.main import main
from framesift.synth import write_video


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("clip"))


@pytest.fixture
def cache_args(tmp_path):
    return ["--cache-dir", str(tmp_path / "cache")]


def test_ask_json(capsys, cache_args):
    code = main(
        [
            "ask",
            str(TREE),
            "What is behind the window?",
            "--option",
            "a tree",
            "--option",
            "a rocket",
            "--budget",
            "3",
            "--json",
            *cache_args,
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answer"] in {"a tree", "a rocket"} and out["answer_index"] in {0, 1}
    assert out["frames_considered"] == 30  # its 68 frames carry pts spread over 29.6 s
    assert len(out["keyframes"]) == 3
    assert set(out["keyframes"][0]) == {"index", "time", "score"}
    assert out["encoder"].startswith("bundled") and out["selector"] == "dks"
    assert out["cached"] is False
    assert set(out["timings"]) >= {"decode", "encode", "select", "answer", "total"}
    main(["ask", str(TREE), "Is there a hand?", "--json", *cache_args])
    assert json.loads(capsys.readouterr().out)["cached"] is True


def test_ask_human_readable(capsys, cache_args):
    args = ["ask", str(TREE), "Is there a hand?", "--option", "yes, a hand", "--option", "no"]
    assert main([*args, "--selector", "uniform", "--budget", "2", *cache_args]) == 0
    out = capsys.readouterr().out
    assert "answer: (" in out and "timings: load" in out and "most relevant" in out


def test_selector_parameters_and_window(capsys, cache_args):
    code = main(
        [
            "ask",
            str(VTEST),
            "people walking",
            "--start",
            "10",
            "--end",
            "20",
            "--json",
            "--param",
            "relevance_floor=-1",
            "--param",
            "redundancy_ceiling=1.0",
            *cache_args,
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["frames_considered"] == 10
    assert all(10 <= k["time"] < 20 for k in out["keyframes"])
    assert len(out["keyframes"]) == 8  # floor -1 and ceiling 1: DKS keeps the top 8


def _audio_only(path):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.zeros(8000, np.int16).tobytes())
    return path


def _no_frames(path):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height = 64, 64
    return path


ERRORS = {
    "missing file": (lambda d: d / "nope.mp4", "Is it?", [], "not found"),
    "not a video": (
        lambda d: d.joinpath("notes.mp4").write_text("hello") and d / "notes.mp4",
        "Is it?",
        [],
        "notes.mp4",
    ),
    "no video stream": (lambda d: _audio_only(d / "sound.wav"), "Is it?", [], "video stream"),
    "zero frames": (lambda d: _no_frames(d / "empty.mp4"), "Is it?", [], "frame"),
    "window outside": (lambda d: TREE, "Is it?", ["--start", "100", "--end", "200"], "window"),
    "empty question": (lambda d: TREE, "   ", [], "question is empty"),
    "one option": (lambda d: TREE, "Is it?", ["--option", "yes"], "at least two options"),
    "bad budget": (lambda d: TREE, "Is it?", ["--budget", "0"], "budget"),
    "bad fps": (lambda d: TREE, "Is it?", ["--fps", "-1"], "fps"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_one_clear_line(case, tmp_path, capsys, cache_args):
    make, question, extra, expected = ERRORS[case]
    video = make(tmp_path)
    assert main(["ask", str(video), question, *extra, *cache_args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("framesift: error:") and expected in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unknown_selector_lists_the_valid_ones(capsys):
    assert main(["ask", str(TREE), "Is it?", "--selector", "magic"]) == 2
    err = capsys.readouterr().err
    assert "unknown selector 'magic'" in err and "dks" in err and "vila" in err


def test_exit_code_and_debug_traceback_in_a_real_process(tmp_path):
    missing = str(tmp_path / "nope.mp4")
    cmd = [sys.executable, "-m", "framesift.cli.main"]
    plain = subprocess.run([*cmd, "ask", missing, "Is it?"], capture_output=True, text=True)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    debug = subprocess.run(
        [*cmd, "--debug", "ask", missing, "Is it?"], capture_output=True, text=True
    )
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_help_imports_neither_torch_nor_transformers():
    code = (
        "import sys, contextlib, io\n"
        "from framesift.cli.main import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['ask', '--help'])\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_demo_finds_every_needle(capsys, tmp_path, cache_args):
    assert main(["demo", "--out", str(tmp_path), *cache_args]) == 0
    out = capsys.readouterr().out
    assert "3/3 moments found" in out
    assert (tmp_path / "framesift-demo.mp4").exists()


def test_hf_encoder_through_the_cli(tmp_path, capsys, cache_args, tiny_clip):
    video = tmp_path / "colours.mp4"
    frames = (np.full((64, 64, 3), (i * 20) % 256, np.uint8) for i in range(40))
    write_video(video, frames, fps=10)
    code = main(
        [
            "ask",
            str(video),
            "a grey square",
            "--encoder",
            f"hf:{tiny_clip}",
            "--json",
            "--budget",
            "2",
            *cache_args,
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["encoder"].startswith(f"hf:{tiny_clip}") and out["frames_considered"] == 4


def test_many_question_commands_embed_questions_through_a_session():
    """serve, eval, select and niah ask for the encoder's ONNX question session; a one-shot
    ask keeps the numpy path that starts quickest; a user's choice is kept."""
    from framesift.cli.main import build_parser
    from framesift.cli.options import pipeline_config

    def parsed(*extra: str):
        return build_parser(["ask"]).parse_args(["ask", "v.mp4", "q", *extra])

    assert "encoder" not in pipeline_config(parsed(), progress=False).params
    many = pipeline_config(parsed(), progress=False, many_questions=True)
    assert many.params["encoder"] == {"text_runtime": "onnx"}
    chosen = parsed("--param", "encoder.text_runtime=numpy")
    kept = pipeline_config(chosen, progress=False, many_questions=True)
    assert kept.params["encoder"] == {"text_runtime": "numpy"}
    other = pipeline_config(parsed("--encoder", "hf"), progress=False, many_questions=True)
    assert "encoder" not in other.params  # no text_runtime to choose
