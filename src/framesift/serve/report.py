"""``framesift ask --report FILE``: the page's evidence view of one answer, as one HTML file.

Self-contained: the page's stylesheet and view script are inlined, keyframe thumbnails are
embedded as data URIs. A player points at the video by its path relative to the report, so
clicking a keyframe seeks it when the report sits near the video; elsewhere the rest works.
"""

from __future__ import annotations

import base64
import html
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from framesift.decode import probe
from framesift.errors import InputError
from framesift.pipeline import AskResult, Pipeline
from framesift.serve.frames import frame_jpegs

STATIC = Path(__file__).parent / "static"
THUMBNAIL_WIDTH = 320


def write_report(
    path: str | os.PathLike,
    pipeline: Pipeline,
    result: AskResult,
    *,
    start: float | None = None,
    end: float | None = None,
) -> None:
    """Render ``result`` (asked with ``pipeline`` over [start, end]) to ``path``, atomically:
    on any error no file, nor a partial one, is left."""
    times, scores = pipeline.relevance(result.video, result.question, start=start, end=end)
    thumbnails = frame_jpegs(result.video, [k.time for k in result.keyframes], THUMBNAIL_WIDTH)
    target = Path(path)
    video_src = Path(os.path.relpath(Path(result.video).resolve(), target.resolve().parent))
    page = render_report(
        result.to_dict(),
        {"times": times.tolist(), "scores": scores.tolist()},
        thumbnails,
        duration=probe(result.video).duration,
        video_src=quote(video_src.as_posix()),
    )
    _write_atomically(target, page)


def render_report(
    result: dict[str, Any],
    relevance: dict[str, list[float]],
    thumbnails: list[bytes],
    *,
    duration: float,
    video_src: str,
) -> str:
    """The report's HTML: ``result`` is ``AskResult.to_dict()``, one JPEG per keyframe."""
    data = {
        "result": result,
        "relevance": relevance,
        "duration": duration,
        "thumbnails": [
            "data:image/jpeg;base64," + base64.b64encode(jpeg).decode() for jpeg in thumbnails
        ],
    }
    script = _REPORT_SCRIPT.replace("DATA", _script_json(data))
    asked = time.strftime("%Y-%m-%d %H:%M")
    return _TEMPLATE.format(
        title=html.escape(result["question"]),
        style=(STATIC / "style.css").read_text(),
        source=html.escape(f"{result['video']} · asked {asked}"),
        video_src=html.escape(video_src, quote=True),
        view=(STATIC / "view.js").read_text(),
        script=script,
    )


def _script_json(data: Any) -> str:
    """JSON that cannot end the <script> element it sits in."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _write_atomically(path: Path, text: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"cannot write the report {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o644)  # readable like any other written file, not mkstemp's 0600
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"cannot write the report {path}: {exc.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>framesift: {title}</title>
<style>
{style}
</style>
</head>
<body>
<header class="topbar"><span class="brand">framesift</span>
<span class="tagline">report: the moments behind an answer</span></header>
<main class="report">
<p class="source">{source}</p>
<div class="card player-card" id="player-card">
<video id="player" controls preload="metadata" src="{video_src}"></video>
</div>
<div id="result" class="card result"><noscript>This report draws its view with JavaScript; \
allow scripts for this file.</noscript></div>
</main>
<script>
{view}
</script>
<script>
{script}
</script>
</body>
</html>
"""

_REPORT_SCRIPT = """"use strict";
const data = DATA;
const player = document.getElementById("player");
player.addEventListener("error", () => (document.getElementById("player-card").hidden = true));
const view = FramesiftView.render(document.getElementById("result"), data.result, {
  relevance: data.relevance,
  duration: data.duration,
  thumbnail: (kf, i) => data.thumbnails[i],
  onSeek: (t) => {
    player.currentTime = t;
    player.scrollIntoView({ block: "nearest" });
  },
});
player.addEventListener("timeupdate", () => view.movePlayhead(player.currentTime));
"""
