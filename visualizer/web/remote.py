"""`gansmania live --web`: the remote, one more control surface next to OSC and MIDI.

    remote = WebRemote(app, show.control, table=surfaces.table, status=surfaces.status)
    ... app.run() ...
    remote.close()

- ``/``: the page (static/index.html), drawn from ``/api/controls`` (the parameters' specs);
- ``/ws``: the OSC address space as JSON. In: ``{"address": "/gm/fx/zoom/twist", "args": [0.4]}``,
  through the same route table as OSC (so only ParamStore writes and posted actions, with the
  same validation); a refused message gets ``{"error": "one line", "address": ...}``. Out:
  ``{"state": {"/gm/state/...": [args], ...}}``, everything on connect, then the changes at
  most ``control.feedback_hz`` times a second (the shared state feed);
- ``/preview``: binary WebSocket messages, each a JPEG (newest only: a slow phone skips frames);
  ``/preview.mjpg``: the same frames as multipart MJPEG, for OBS or VLC.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visualizer.control.feedback import Messages, StateFeed, StatusSource
from visualizer.control.osc import parse_allow
from visualizer.control.routes import ProblemLog, RouteTable, is_release, problem_key
from visualizer.web.controls import page_controls
from visualizer.web.preview import Preview
from visualizer.web.qr import phone_host, qr_matrix
from visualizer.web.server import Gate, ServerThread, is_loopback, parse_listen

if TYPE_CHECKING:
    from visualizer.app import LiveApp
    from visualizer.settings import ControlSettings

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
BOUNDARY = "gmframe"
MAX_ARGS = 16


class WebRemote:
    """The remote's server, feed and preview for a running app (see the module docstring).
    Raises GansmaniaError (one line) for a bad --web or a port in use."""

    def __init__(self, app: LiveApp, settings: ControlSettings, *, table: RouteTable,
                 status: StatusSource, slots: Sequence[str] = ()) -> None:
        host, port = parse_listen(settings.web)
        self.app = app
        self.table = table
        self.slots = list(slots)
        # Beyond loopback anyone on the network could drive the show: a token is required.
        self.token = "" if is_loopback(host) else settings.web_token or secrets.token_urlsafe(12)
        self.problems = ProblemLog("web", on_new=lambda message: app.report_error("web", message))
        self.feed = StateFeed(table, app.params, status=status, rate_hz=settings.feedback_hz,
                              max_subscribers=settings.web_clients, name="web feedback")
        self.preview = Preview(app, width_px=settings.web_preview_width,
                               fps=settings.web_preview_fps)
        self.gate = Gate(self._asgi(), token=self.token, max_clients=settings.web_clients,
                         allow=parse_allow(settings.osc_allow))
        self._ids = itertools.count(1)
        self._frame_event: asyncio.Event | None = None
        self.received = self.applied = 0
        try:
            self.server = ServerThread(self.gate, host, port)
            self.feed.start()
            self.server.start()
        except BaseException:
            self.close()
            raise
        log.info("web remote on %s", self.url)
        if self.token:  # open to the LAN: the HUD offers the address to a phone's camera
            app.remote_qr = qr_matrix(self.phone_url)

    @property
    def url(self) -> str:
        """The page's address as it listens (with the token when it wants one)."""
        return self._url(self.server.host)

    @property
    def phone_url(self) -> str:
        """The address a phone on the LAN opens: ``url`` with a wildcard host (0.0.0.0) replaced
        by this computer's LAN address (kept when it has none)."""
        return self._url(phone_host(self.server.host))

    def _url(self, host: str) -> str:
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.server.port}/" + (f"?token={self.token}" if self.token else "")

    def _asgi(self):
        from starlette.applications import Starlette
        from starlette.responses import FileResponse, JSONResponse
        from starlette.routing import Mount, Route, WebSocketRoute
        from starlette.staticfiles import StaticFiles

        async def not_found(request, exc):
            return JSONResponse({"error": f"{request.url.path}: {exc.detail}"},
                                status_code=exc.status_code)

        return Starlette(routes=[
            Route("/", lambda request: FileResponse(STATIC / "index.html")),
            Route("/api/controls", lambda request: JSONResponse(
                page_controls(self.table, slots=self.slots))),
            Route("/preview.mjpg", self._mjpeg),
            WebSocketRoute("/ws", self._control),
            WebSocketRoute("/preview", self._preview),
            Mount("/static", StaticFiles(directory=STATIC)),
        ], exception_handlers={404: not_found, 405: not_found})

    # ------------------------------------------------------------------ control

    async def _control(self, ws) -> None:
        from starlette.websockets import WebSocketDisconnect

        await ws.accept()
        loop = asyncio.get_running_loop()
        outbox: dict[str, list[Any]] = {}  # coalesced: a slow client gets the newest values
        ready = asyncio.Event()

        def deliver(messages: Messages) -> None:  # feed thread
            loop.call_soon_threadsafe(merge, messages)

        def merge(messages: Messages) -> None:
            outbox.update(messages)
            ready.set()

        key = ("web", next(self._ids))
        problem = self.feed.add(key, deliver)
        if problem is not None:
            await ws.close(code=1013, reason=problem)
            return

        async def writer() -> None:
            while True:
                await ready.wait()
                ready.clear()
                batch = dict(outbox)
                outbox.clear()
                await ws.send_text(json.dumps({"state": batch}))

        sending = asyncio.create_task(writer())
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                error = self._dispatch(message.get("text"), message.get("bytes"))
                if error is not None:
                    await ws.send_text(json.dumps(error))
        except WebSocketDisconnect:
            pass
        finally:
            self.feed.remove(key)
            sending.cancel()

    def _dispatch(self, text: str | None, data: bytes | None) -> dict[str, Any] | None:
        """One message from a page -> the route table; a dict to send back when refused."""
        self.received += 1
        address, args, error = _parse(text, data)
        if error is None:
            error = self.table.dispatch(address, args, source="web")
            if error is None:
                self.applied += 1
                return None
            if is_release(error):
                return None
        self.problems.problem(problem_key(error), error)
        return {"error": error, "address": address}

    # ------------------------------------------------------------------ preview

    def _frames(self) -> asyncio.Event:
        """This loop's 'a new preview frame' event; the encoder thread sets it through the loop."""
        if self._frame_event is None:
            loop = asyncio.get_running_loop()
            self._frame_event = asyncio.Event()
            self.preview.on_frame = lambda: loop.call_soon_threadsafe(self._frame_event.set)
        return self._frame_event

    async def _next_frame(self, seq: int):
        """The newest preview frame after ``seq`` (waits for one)."""
        event = self._frames()
        while self.preview.frame is None or self.preview.frame.seq <= seq:
            event.clear()
            await event.wait()
        return self.preview.frame

    async def _preview(self, ws) -> None:
        await ws.accept()
        leave = self.preview.watch()

        async def stream() -> None:
            seq = 0
            while True:
                frame = await self._next_frame(seq)
                seq = frame.seq
                await ws.send_bytes(frame.jpeg)

        sending = asyncio.create_task(stream())
        try:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass  # nothing a viewer says matters; this loop notices it leaving
        finally:
            leave()
            sending.cancel()

    async def _mjpeg(self, request):
        from starlette.responses import StreamingResponse

        leave = self.preview.watch()

        async def parts():
            seq = 0
            try:
                while True:
                    frame = await self._next_frame(seq)
                    seq = frame.seq
                    yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: "
                           f"{len(frame.jpeg)}\r\n\r\n").encode() + frame.jpeg + b"\r\n"
            finally:
                leave()

        return StreamingResponse(parts(), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}")

    # ------------------------------------------------------------------ results

    def stats(self) -> dict[str, Any]:
        return {"url": self.url.split("?")[0], "received": self.received, "applied": self.applied,
                "refused": self.gate.refused, "problems": self.problems.total,
                "preview_frames": self.preview.encoded,
                "preview_encode_s": round(self.preview.encode_s, 3)}

    def close(self) -> None:
        for closer in ("server", "feed", "preview"):
            part = getattr(self, closer, None)
            if part is not None:
                try:
                    part.close()
                except Exception:  # closing one part must not leave the others open
                    log.exception("closing the web remote's %s failed", closer)


def _parse(text: str | None, data: bytes | None) -> tuple[str, list[Any], str | None]:
    """(address, args, problem) of one JSON message."""
    if text is None:
        return "", [], "send JSON text, not binary: {\"address\": \"/gm/...\", \"args\": [...]}"
    try:
        message = json.loads(text)
    except ValueError:
        return "", [], f"not JSON: {_clip(text)}"
    if not isinstance(message, dict) or not isinstance(message.get("address"), str):
        return "", [], "wants {\"address\": \"/gm/...\", \"args\": [...]}"
    address, args = message["address"], message.get("args", [])
    if not isinstance(args, list) or len(args) > MAX_ARGS or \
            not all(isinstance(a, int | float | str | bool) for a in args):
        return address, [], f"{_clip(address)}: args must be a list of at most {MAX_ARGS} " \
                            "numbers, strings or booleans"
    return address, args, None


def _clip(text: str, limit: int = 60) -> str:
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit - 3] + "..."

