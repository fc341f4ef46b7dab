"""The page in a real browser: ``framesift serve`` runs on 127.0.0.1 over a generated video with
real photos at known times (the demo's rocket at 46-49 s), and Debian's headless chromium,
driven by Playwright, asks about it as a person would. ``.ci/run`` installs chromium."""

from __future__ import annotations

import http.client
import re
import select
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from framesift.cli.main import main
from framesift.demo import NEEDLES, build_demo_video

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "browser-test-token"
ROCKET = NEEDLES[2]  # the demo's rocket, with its question and options
QUESTION, OPTIONS = ROCKET.question, list(ROCKET.options)
ANSWER = f"({chr(65 + OPTIONS.index(ROCKET.answer))}) {ROCKET.answer}"


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("media")
    build_demo_video(root / "demo.mp4")
    return root


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def server(media, cache):
    """``framesift serve --port 0 --token ...``; yields the address it prints."""
    command = [sys.executable, "-m", "framesift.cli.main", "serve", "--media", str(media)]
    command += ["--port", "0", "--cache-dir", str(cache), "--token", TOKEN]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 600)
        line = process.stdout.readline() if ready else ""
        found = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        if not found:
            process.kill()
            pytest.fail(f"framesift serve did not start: {line!r} {process.stderr.read()[-2000:]}")
        yield found.group(1)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


def test_ask_on_the_page_and_watch_the_evidence(server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(server)
    # the server has a token: the page asks for it once
    page.wait_for_selector("#token-form", state="visible")
    page.fill("#token", TOKEN)
    page.click("#token-form button")
    page.wait_for_selector(".video.active")
    assert page.inner_text("#title") == "demo.mp4"
    assert "not indexed" in page.inner_text("#status")
    page.evaluate(
        """() => {
            window.seen = [];
            new MutationObserver(() => window.seen.push(
                document.getElementById('progress-text').textContent)
            ).observe(document.getElementById('progress'), {subtree: true, childList: true,
                characterData: true, attributes: true});
        }"""
    )

    page.fill("#question", QUESTION)
    page.fill("#options", "\n".join(OPTIONS))
    page.click("#ask-button")
    page.wait_for_selector(".verdict strong", timeout=300_000)
    assert page.inner_text(".verdict strong") == ANSWER
    assert any("index" in text for text in page.evaluate("window.seen"))
    assert page.inner_text("#status") == "indexed"

    thumbs, markers = page.locator(".thumb"), page.locator(".marker")
    assert thumbs.count() == markers.count() == 8
    page.wait_for_function(
        "[...document.querySelectorAll('.thumb img')].every(i => i.complete && i.naturalWidth)"
    )
    times = [float(t) for t in thumbs.evaluate_all("ts => ts.map(t => t.dataset.time)")]
    assert times == sorted(times)
    best = float(page.get_attribute(".thumb.best", "data-time"))
    assert ROCKET.covers(best)

    # the player streams /media through the page's service worker, which adds the token
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    page.click(".thumb.best")
    page.wait_for_function(
        f"Math.abs(document.getElementById('player').currentTime - {best}) < 0.05"
    )
    other = markers.nth(0)
    other_time = float(other.get_attribute("data-time"))
    other.click()
    page.wait_for_function(
        f"Math.abs(document.getElementById('player').currentTime - {other_time}) < 0.05"
    )

    # a bad request shows its error as text, and the page keeps working
    page.fill("#options", "just one option")
    page.click("#ask-button")
    page.wait_for_selector("#error:not([hidden])")
    assert "two options" in page.inner_text("#error")
    assert page.locator(".thumb").count() == 8

    page.reload()  # the token is remembered
    page.wait_for_selector(".video.active")
    assert page.locator("#token-form").is_hidden()
    assert "indexed" in page.inner_text(".video.active")
    context.close()


def test_traversal_over_real_http(server):
    """Raw request targets, as a client may send them, reach uvicorn unnormalised."""
    address = urlsplit(server)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for target in [
        "/media/../../../../etc/passwd",
        "/media/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/media/..%2f..%2f..%2fetc%2fpasswd",
        "/media//etc/passwd",
        "/api/videos/..%2f..%2fetc%2fpasswd/frame?t=0",
    ]:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        connection.request("GET", target, headers=auth)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 404, target
        assert b"root:" not in body and b"error" in body
        connection.close()
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request("GET", "/media/demo.mp4")
    assert connection.getresponse().status == 401


def test_report_opens_offline(media, cache, browser, tmp_path, capsys):
    report = tmp_path / "report.html"
    args = ["ask", str(media / "demo.mp4"), QUESTION, "--cache-dir", str(cache), "--json"]
    args += [a for option in OPTIONS for a in ("--option", option)]
    assert main([*args, "--report", str(report)]) == 0
    capsys.readouterr()
    page = browser.new_page()
    page.goto(report.as_uri())
    page.wait_for_function(
        "[...document.querySelectorAll('.thumb img')].every(i => i.complete && i.naturalWidth)"
    )
    assert page.inner_text(".verdict strong") == ANSWER
    assert page.locator(".thumb").count() == page.locator(".marker").count() == 8
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    best = float(page.get_attribute(".thumb.best", "data-time"))
    page.click(".thumb.best")
    page.wait_for_function(
        f"Math.abs(document.getElementById('player').currentTime - {best}) < 0.05"
    )
    page.close()
