"""framesift serve's HTTP API against the ASGI app: every endpoint, errors, limits, traversal
attempts, the token, Range requests and the index queue, on generated videos with real photos
(the demo's: a cat at 11-14 s, a cup of coffee at 29-32 s, a rocket at 46-49 s), with the
demo's questions."""

from __future__ import annotations

import dataclasses
import io
import os
import time
from pathlib import Path

import pytest
from conftest import make_indexed_video
from PIL import Image

pytest.importorskip("fastapi", reason="framesift[serve] is not installed")
from fastapi.testclient import TestClient

from framesift.cli.main import main
from framesift.demo import NEEDLES, build_demo_video
from framesift.pipeline import AskResult, PipelineConfig
from framesift.serve.app import create_app
from framesift.serve.library import MediaLibrary, video_id
from framesift.serve.report import write_report
from framesift.serve.service import Service
from framesift.synth import pan, write_video

CAT, COFFEE, ROCKET = NEEDLES  # where the demo video shows each photo, and what to ask


def long_footage(path: Path, seconds: int) -> Path:
    """Slow pans over scikit-image photos at 2 fps: ``seconds`` of video to index."""
    from skimage import data

    photos = [data.camera(), data.brick(), data.grass(), data.gravel(), data.moon()]
    steps = seconds * 2 // len(photos)
    frames = (f for photo in photos for f in pan(photo, 160, 120, steps))
    write_video(path, frames, fps=2)
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("media")
    build_demo_video(root / "demo.mp4")
    (root / "talks").mkdir()
    long_footage(root / "talks" / "long talk.mp4", 300)
    make_indexed_video(root / "short.mp4", 40, fps=10)
    (root / "broken.mp4").write_bytes(b"not a video at all")
    (root / "notes.txt").write_text("not a video")
    (root / ".hidden").mkdir()
    build_demo_video(root / ".hidden" / "secret.mp4")
    outside = tmp_path_factory.mktemp("outside")
    build_demo_video(outside / "secret.mp4")
    (root / "escape.mp4").symlink_to(outside / "secret.mp4")
    (root / "linked").symlink_to(outside)
    return root


@pytest.fixture(scope="module")
def service(media, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    service = Service(MediaLibrary(media), PipelineConfig(cache_dir=str(cache)))
    service.warm()
    yield service
    service.close()


@pytest.fixture(scope="module")
def client(service):
    with TestClient(create_app(service)) as client:
        yield client


@pytest.fixture
def limited(service, monkeypatch):
    """A client whose app applies other limits (``limited(request_seconds=0.2)``)."""
    clients = []

    def make(**limits) -> TestClient:
        monkeypatch.setattr(service, "limits", dataclasses.replace(service.limits, **limits))
        clients.append(TestClient(create_app(service)).__enter__())
        return clients[-1]

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def ask_rocket() -> dict:
    return {"question": ROCKET.question, "options": list(ROCKET.options)}


def follow(client: TestClient, job: dict, seconds: float = 300) -> dict:
    deadline = time.monotonic() + seconds
    while job["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"job did not finish: {job}"
        time.sleep(0.1)
        job = client.get(f"/api/jobs/{job['job']}").json()
    return job


def error_of(response) -> str:
    body = response.json()
    assert set(body) >= {"error"} and "Traceback" not in body["error"]
    assert "\n" not in body["error"]
    return body["error"]


def test_health(client):
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["version"]


def test_video_list_holds_only_videos_inside_the_root(client):
    videos = {v["path"]: v for v in client.get("/api/videos").json()}
    assert set(videos) == {"demo.mp4", "talks/long talk.mp4", "short.mp4", "broken.mp4"}
    demo = videos["demo.mp4"]
    assert demo["id"] == video_id("demo.mp4") and demo["duration"] == pytest.approx(60, abs=0.2)
    assert videos["talks/long talk.mp4"]["duration"] == pytest.approx(300, abs=1)
    assert videos["broken.mp4"]["duration"] is None and videos["broken.mp4"]["error"]


def test_index_job_then_ask_by_id_and_by_path(client):
    demo = video_id("demo.mp4")
    accepted = client.post(f"/api/videos/{demo}/index")
    assert accepted.status_code == 202
    job = follow(client, accepted.json())
    assert job["state"] == "done" and job["progress"] == 1 and job["error"] is None
    assert {v["path"]: v["indexed"] for v in client.get("/api/videos").json()}["demo.mp4"]
    again = client.post(f"/api/videos/{demo}/index")
    assert again.status_code == 202 and again.json()["state"] == "done"

    asked = client.post("/api/ask", json={"video": demo, **ask_rocket()})
    assert asked.status_code == 200
    result = asked.json()
    assert set(result) == {f.name for f in dataclasses.fields(AskResult)}
    assert result["answer"] == ROCKET.answer and result["cached"] is True
    assert result["video"] == "demo.mp4" and result["frames_considered"] == 60
    assert ROCKET.covers(max(result["keyframes"], key=lambda k: k["score"])["time"])
    by_path = client.post(
        "/api/ask",
        json={
            "video": "demo.mp4",
            "question": CAT.question,
            "selector": "topk",
            "budget": 3,
        },
    ).json()
    assert by_path["selector"] == "topk" and len(by_path["keyframes"]) == 3
    assert by_path["answer"] is None
    assert all(CAT.covers(k["time"]) for k in by_path["keyframes"])


def test_relevance_timeline(client):
    demo = video_id("demo.mp4")
    body = client.get(f"/api/videos/{demo}/relevance", params={"q": CAT.question}).json()
    assert len(body["times"]) == len(body["scores"]) == 60
    assert body["times"] == sorted(body["times"])
    assert CAT.covers(body["times"][max(range(60), key=body["scores"].__getitem__)])
    assert client.get(f"/api/videos/{demo}/relevance", params={"q": " "}).status_code == 400
    assert client.get(f"/api/videos/{demo}/relevance").status_code == 422


def test_frame_is_a_jpeg_of_that_moment(client):
    demo = video_id("demo.mp4")
    response = client.get(f"/api/videos/{demo}/frame", params={"t": 12.5, "w": 160})
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (160, 120)
    default = Image.open(io.BytesIO(client.get(f"/api/videos/{demo}/frame?t=0").content))
    assert default.width == 320
    for params, status in [
        ({"t": 500}, 400),  # after the last frame
        ({"t": -1}, 400),
        ({"t": 1, "w": 5000}, 400),
        ({"t": "soon"}, 422),
        ({}, 422),
    ]:
        response = client.get(f"/api/videos/{demo}/frame", params=params)
        assert response.status_code == status, params
        error_of(response)


def test_media_whole_and_in_ranges(client, media):
    data = (media / "demo.mp4").read_bytes()
    whole = client.get(f"/media/{video_id('demo.mp4')}")
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get("/media/demo.mp4", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = client.get("/media/demo.mp4", headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    assert (
        client.get("/media/demo.mp4", headers={"Range": f"bytes={len(data)}-"}).status_code == 416
    )


TRAVERSALS = [
    "../outside/secret.mp4",
    "..%2Fsecret.mp4",
    "%2e%2e/%2e%2e/etc/passwd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%252e%252e%252fsecret.mp4",
    "%2Fetc%2Fpasswd",
    "talks/..%2F..%2Fsecret.mp4",
    "escape.mp4",  # a symlink out of the root
    "linked/secret.mp4",  # through a symlinked folder
    ".hidden/secret.mp4",
    "notes.txt",
    "broken.mp4%00.txt",
]


@pytest.mark.parametrize("ref", TRAVERSALS)
def test_traversal_is_not_found(client, media, ref):
    secret = (media / ".hidden" / "secret.mp4").read_bytes()[:4096]
    for url in (f"/media/{ref}", f"/api/videos/{ref}/frame?t=1"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert secret not in response.content
        error_of(response)


def test_ask_outside_the_root_is_not_found(client, media):
    """Refused alike whether the file exists or not: no answer tells what lies outside."""
    outside = (media / "escape.mp4").resolve()
    missing = outside.parent / "missing.mp4"
    refs = ["../secret.mp4", str(outside), str(media / "demo.mp4"), "escape.mp4", "x/../demo.mp4"]
    for ref in [*refs, str(missing)]:
        response = client.post("/api/ask", json={"video": ref, "question": CAT.question})
        assert response.status_code == 404, ref
        assert error_of(response) == f"no video {ref!r} in the media folder"


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"video": "demo.mp4", "question": "x" * 1001}, 400, "at most 1000"),
        (
            {"video": "demo.mp4", "question": "?", "options": [f"o{i}" for i in range(17)]},
            400,
            "16",
        ),
        ({"video": "demo.mp4", "question": "?", "options": ["a", "b" * 301]}, 400, "300"),
        ({"video": "demo.mp4", "question": "?", "options": ["only one"]}, 400, "two options"),
        ({"video": "demo.mp4", "question": "   "}, 400, "empty"),
        ({"video": "demo.mp4", "question": "?", "budget": 0}, 400, "budget"),
        ({"video": "demo.mp4", "question": "?", "budget": 10_000}, 400, "budget"),
        ({"video": "demo.mp4", "question": "?", "selector": "vila:/etc/passwd"}, 400, "offered"),
        ({"video": "demo.mp4", "question": "?", "start": 30, "end": 10}, 400, "after start"),
        ({"video": "demo.mp4"}, 422, "question"),
        ({"video": "demo.mp4", "question": "?", "shell": "rm -rf"}, 422, "shell"),
        ({"video": "nope.mp4", "question": "?"}, 404, "no video"),
    ],
)
def test_bad_asks_get_one_line_json_errors(client, body, status, words):
    response = client.post("/api/ask", json=body)
    assert response.status_code == status
    assert words in error_of(response)


def test_malformed_and_oversized_bodies(client):
    bad = client.post(
        "/api/ask", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 422 and error_of(bad)
    big = {"video": "demo.mp4", "question": "?", "options": ["a" * 40_000, "b" * 40_000]}
    assert client.post("/api/ask", json=big).status_code == 413

    def chunks():  # no Content-Length: the body is counted as it arrives
        yield b'{"video": "demo.mp4", "question": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    chunked = client.post(
        "/api/ask", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert chunked.status_code == 413 and "bytes" in error_of(chunked)
    assert client.get("/api/nothing-here").status_code == 404
    assert client.delete("/api/health").status_code == 405


def test_a_video_that_cannot_be_indexed_fails_its_job(client):
    job = follow(client, client.post(f"/api/videos/{video_id('broken.mp4')}/index").json())
    assert job["state"] == "failed" and job["error"] and "Traceback" not in job["error"]
    response = client.post("/api/ask", json={"video": "broken.mp4", "question": "What is it?"})
    assert response.status_code == 422 and error_of(response)
    assert client.get("/api/jobs/0000000000000000").status_code == 404


def test_indexing_shares_jobs_and_does_not_block_other_asks(client, limited, service):
    long_talk = video_id("talks/long talk.mp4")
    first = client.post(f"/api/videos/{long_talk}/index").json()
    assert first["state"] in ("queued", "running")
    impatient = limited(request_seconds=0.3)
    asks = [
        impatient.post("/api/ask", json={"video": "talks/long talk.mp4", "question": "A moon?"})
        for _ in range(2)
    ]
    # both asks wait on the one job the index request started, and say so
    assert [a.status_code for a in asks] == [202, 202]
    assert {a.json()["job"] for a in asks} == {first["job"]}
    # a video already indexed is answered meanwhile
    other = client.post("/api/ask", json={"video": "demo.mp4", **ask_rocket()})
    assert other.status_code == 200 and other.json()["answer"] == ROCKET.answer
    assert client.get(f"/api/jobs/{first['job']}").json()["state"] in ("queued", "running")
    # the queue is bounded: a full queue refuses more videos
    service.jobs.capacity = 1
    try:
        refused = client.post(f"/api/videos/{video_id('short.mp4')}/index")
    finally:
        service.jobs.capacity = 8
    assert refused.status_code == 503 and "try again" in error_of(refused)

    progress = []
    job = first
    while job["state"] in ("queued", "running"):
        progress.append(job["progress"])
        time.sleep(0.2)
        job = client.get(f"/api/jobs/{first['job']}").json()
    assert job["state"] == "done" and job["progress"] == 1
    assert progress == sorted(progress) and 0 < max(progress) < 1
    answered = client.post("/api/ask", json={"video": long_talk, "question": "A moon?"}).json()
    assert answered["cached"] is True and answered["frames_considered"] == 300


def test_requests_are_bounded_in_time(limited):
    hasty = limited(request_seconds=1e-6)
    response = hasty.post("/api/ask", json={"video": "demo.mp4", "question": "Is there a cat?"})
    assert response.status_code == 504 and "longer than" in error_of(response)


def test_token_guards_api_and_media_not_the_page(service):
    with TestClient(create_app(service, token="s3cret")) as guarded:
        for path in ("/api/health", "/api/videos", "/media/demo.mp4", "/api/jobs/x"):
            response = guarded.get(path)
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == "Bearer"
            error_of(response)
            wrong = guarded.get(path, headers={"Authorization": "Bearer s3cre"})
            assert wrong.status_code == 401
        posted = guarded.post("/api/ask", json={"video": "demo.mp4", "question": "?"})
        assert posted.status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        assert guarded.get("/api/health", headers=auth).status_code == 200
        ranged = guarded.get("/media/demo.mp4", headers={**auth, "Range": "bytes=0-9"})
        assert ranged.status_code == 206 and len(ranged.content) == 10
        page = guarded.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        for asset in ("/static/app.js", "/static/view.js", "/static/style.css", "/sw.js"):
            assert guarded.get(asset).status_code == 200, asset


def test_report_is_one_self_contained_file(service, media, tmp_path):
    result = service.pipeline.ask(media / "demo.mp4", **ask_rocket())
    report = tmp_path / "report.html"
    write_report(report, service.pipeline, result)
    text = report.read_text()
    assert text.count("data:image/jpeg;base64,") == len(result.keyframes)
    assert ROCKET.question in text and f'"answer": "{ROCKET.answer}"' in text
    assert "FramesiftView" in text and "<link" not in text and 'src="/static' not in text
    assert os.path.relpath(media / "demo.mp4", tmp_path) in text

    directory = tmp_path / "taken"
    directory.mkdir()
    with pytest.raises(Exception, match="cannot write the report"):
        write_report(directory, service.pipeline, result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "taken"]
    assert list(directory.iterdir()) == []


def test_serve_cli_bad_input_is_one_line(tmp_path, capsys):
    import socket

    assert main(["serve", "--media", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--media", str(tmp_path), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and err.count("\n") == 1
    assert main(["serve", "--media", str(tmp_path), "--port", "70000"]) == 2
    assert main(["serve", "--media", str(tmp_path), "--index-workers", "0"]) == 2
    assert main(["serve", "--media", str(tmp_path), "--no-cache"]) == 2
    assert "framesift: error:" in capsys.readouterr().err
