"""The HTTP API and the page, as an ASGI app over a ``Service``.

Every error is JSON ``{"error": "one line"}``; tracebacks go to the server log only. With a
token, everything but the page's own files needs ``Authorization: Bearer TOKEN``.
"""

from __future__ import annotations

import logging
import mimetypes
import secrets
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from framesift import __version__
from framesift.errors import FramesiftError, InputError, VideoDecodeError, VideoNotFoundError
from framesift.serve.jobs import QueueFullError
from framesift.serve.library import Video
from framesift.serve.service import Service

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
PUBLIC_PATHS = ("/", "/sw.js")  # the page loads without a token and then asks for it
T = TypeVar("T")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    video: str  # id or path relative to the media root
    question: str
    options: list[str] | None = None
    selector: str | None = None
    budget: int | None = None
    start: float | None = None
    end: float | None = None


class RequestTimeout(FramesiftError):
    """A request ran past the per-request time limit."""


class IndexingFailed(FramesiftError):
    """The video could not be indexed (the job says why)."""


STATUS = {
    InputError: 400,
    VideoNotFoundError: 404,
    VideoDecodeError: 422,
    IndexingFailed: 422,
    QueueFullError: 503,
    RequestTimeout: 504,
}


def create_app(service: Service, *, token: str | None = None) -> FastAPI:
    """The app over ``service``; the caller owns the service and closes it."""
    limits = service.limits
    limiter: list[anyio.CapacityLimiter] = []  # made on the server's event loop

    app = FastAPI(
        title="framesift", version=__version__, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.add_middleware(Guard, token=token, body_bytes=limits.body_bytes)

    async def run(deadline: float, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn`` on a worker thread, at most ``concurrent_requests`` at once, by ``deadline``."""
        if not limiter:
            limiter.append(anyio.CapacityLimiter(limits.concurrent_requests))
        try:
            with anyio.fail_after(max(deadline - time.monotonic(), 0)):
                return await anyio.to_thread.run_sync(
                    partial(fn, *args, **kwargs), abandon_on_cancel=True, limiter=limiter[0]
                )
        except TimeoutError:
            raise RequestTimeout(
                f"the request took longer than {limits.request_seconds:g} s; try again later"
            ) from None

    async def until_indexed(
        video: Video, start: float | None, end: float | None, deadline: float
    ) -> JSONResponse | None:
        """None once ``video`` is indexed; 202 with its job if that takes past ``deadline``."""
        job = await run(deadline, service.pending_index, video, start, end)
        while job is not None and not job.finished.is_set():
            if time.monotonic() >= deadline:
                message = "still indexing this video: follow the job, then ask again"
                return JSONResponse({**job.to_dict(), "message": message}, status_code=202)
            await anyio.sleep(0.1)
        if job is not None and job.state == "failed":
            raise IndexingFailed(job.error or "indexing failed")
        return None

    def deadline() -> float:
        return time.monotonic() + limits.request_seconds

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        config = service.pipeline.config
        return {
            "status": "ok",
            "version": __version__,
            "encoder": config.encoder,
            "selector": config.selector,
            "budget": config.budget,
            "answerer": config.answerer,
        }

    @app.get("/api/videos")
    def videos() -> list[dict[str, Any]]:
        return service.videos()

    @app.post("/api/videos/{video_id}/index", status_code=202)
    async def index(video_id: str) -> dict[str, Any]:
        video = service.library.resolve(video_id)
        job = await run(deadline(), service.index, video)
        return job.to_dict()

    @app.get("/api/jobs/{job_id}")
    def job(job_id: str) -> dict[str, Any]:
        found = service.jobs.get(job_id)
        if found is None:
            raise HTTPException(404, f"no job {job_id!r} (finished jobs are kept for a while)")
        return found.to_dict()

    @app.post("/api/ask", response_model=None)
    async def ask(request: AskRequest) -> dict[str, Any] | JSONResponse:
        due = deadline()
        video = service.library.resolve(request.video)
        service.check_question(request.question, request.options)
        service.check_choice(request.selector, request.budget)
        pending = await until_indexed(video, request.start, request.end, due)
        if pending is not None:
            return pending
        return await run(
            due,
            service.ask,
            video,
            request.question,
            request.options,
            selector=request.selector,
            budget=request.budget,
            start=request.start,
            end=request.end,
        )

    @app.get("/api/videos/{video_id}/relevance", response_model=None)
    async def relevance(
        video_id: str, q: str, start: float | None = None, end: float | None = None
    ) -> dict[str, Any] | JSONResponse:
        due = deadline()
        video = service.library.resolve(video_id)
        service.check_question(q, None)
        pending = await until_indexed(video, start, end, due)
        if pending is not None:
            return pending
        return await run(due, service.relevance, video, q, start, end)

    @app.get("/api/videos/{video_id}/frame")
    async def frame(video_id: str, t: float, w: int = 320) -> Response:
        video = service.library.resolve(video_id)
        jpeg = await run(deadline(), service.frame, video, t, w)
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    @app.get("/media/{ref:path}")
    def media(ref: str) -> FileResponse:
        """The file itself; FileResponse answers Range requests with 206 partial content."""
        video = service.library.resolve(ref)
        kind = mimetypes.guess_type(video.file.name)[0] or "application/octet-stream"
        return FileResponse(video.file, media_type=kind)

    @app.get("/")
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/sw.js")
    def service_worker() -> FileResponse:
        """At the root, so that its scope covers /media and /api."""
        return FileResponse(STATIC / "sw.js", media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(FramesiftError)
    async def domain_error(request: Request, exc: FramesiftError) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)
        return JSONResponse({"error": _one_line(exc)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in exc.errors()
        ]
        return JSONResponse({"error": "; ".join(problems)}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        message = f"internal error ({type(exc).__name__}); the server log has the details"
        return JSONResponse({"error": message}, status_code=500)

    return app


class Guard:
    """Checks the token and bounds the request body, before any route runs."""

    def __init__(self, app: ASGIApp, *, token: str | None, body_bytes: int):
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None
        self.body_bytes = body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        path = scope["path"]
        public = path in PUBLIC_PATHS or path.startswith("/static/")
        if self.expected and not public:
            given = headers.get(b"authorization", b"")
            if not secrets.compare_digest(given, self.expected):
                message = "missing or wrong token: send the header Authorization: Bearer TOKEN"
                return await _send_error(send, 401, message, {"WWW-Authenticate": "Bearer"})
        too_large = f"the request body is over {self.body_bytes} bytes"
        length = headers.get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.body_bytes:
            return await _send_error(send, 413, too_large)
        received = 0

        async def bounded_receive() -> Message:
            """For bodies sent without a length; the route's error handler answers 413."""
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.body_bytes:
                raise HTTPException(413, too_large)
            return message

        await self.app(scope, bounded_receive, send)


async def _send_error(send: Send, status: int, message: str, headers: dict | None = None) -> None:
    await JSONResponse({"error": message}, status_code=status, headers=headers)(
        {"type": "http"}, _no_body, send
    )


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _one_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
