"""Serving an ASGI app from a thread of the show (uvicorn with its own event loop), and the
gate in front of it: the allow-list, the token, the WebSocket Origin check, the cap on
long-lived clients.

Why a gate of our own (a small ASGI middleware) and not a session framework: the remote has
one secret per show and no users; what it needs is that nobody else on the venue's Wi-Fi can
move a fader (the token), that a web page elsewhere cannot drive it through the VJ's browser
(the Origin), and that a room of phones cannot starve the show (the cap). The OSC allow-list
(control.osc_allow) applies too: a VJ who named the machines that may steer the show means
every surface.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from visualizer.control.osc import allowed
from visualizer.core.errors import GansmaniaError

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]

COOKIE = "gm_token"
HEADER = "x-gm-token"
STREAMS = ("/preview.mjpg",)  # long-lived HTTP responses: they count against the cap


def parse_listen(text: str) -> tuple[str, int]:
    """``"8080"`` or ``"0.0.0.0:8080"`` (``"[::1]:8080"``) -> (host, port); loopback by default."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host = "127.0.0.1"
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise GansmaniaError(f"--web {text!r}: wants [HOST:]PORT, e.g. 8080 or 0.0.0.0:8080")
    return host, int(port)


def check_web(text: str) -> None:
    """The mistakes `--web` would only show after the model loaded: one line, at once."""
    parse_listen(text)
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
        import segno  # noqa: F401
        import websockets  # noqa: F401
    except ImportError as exc:
        raise GansmaniaError(f"the web remote needs {exc.name}: pip install 'gansmania[web]'") \
            from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Gate:
    """ASGI middleware: clients in ``allow`` (networks; empty = any), token (when set),
    same-origin WebSockets, at most ``max_clients`` WebSockets and streams at once. Refusals are
    4xx JSON ``{"error": "..."}``."""

    def __init__(self, app: ASGIApp, *, token: str = "", max_clients: int = 8,
                 allow: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = (),
                 streams: Sequence[str] = STREAMS, command: str = "gansmania live --web") -> None:
        self.app = app
        self.streams = tuple(streams)  # paths of long-lived HTTP responses (MJPEG, SSE)
        self.command = command  # the command that printed the address, for the 401's hint
        self.token = token
        self.allow = tuple(allow)
        self.max_clients = max_clients
        self.clients = 0  # only touched on the server's event loop
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        problem = self._check(scope, headers, query)
        if problem is not None:
            self.refused += 1
            return await _deny(scope, send, *problem)
        long_lived = scope["type"] == "websocket" or scope["path"] in self.streams
        if long_lived and self.clients >= self.max_clients:
            self.refused += 1
            return await _deny(scope, send, 429, f"{self.max_clients} clients already connected "
                                                 "(control.web_clients)")
        if self.token and query.get("token"):
            send = _set_cookie(send, self.token)  # the page's scripts then carry it themselves
        self.clients += long_lived
        try:
            await self.app(scope, receive, send)
        finally:
            self.clients -= long_lived

    def _check(self, scope: Scope, headers: dict[str, str],
               query: dict[str, list[str]]) -> tuple[int, str] | None:
        if self.allow:
            host = (scope.get("client") or ("",))[0]  # no peer address (a Unix socket): refused
            if not allowed(host, self.allow):
                return 403, f"{_clip(host) or 'this client'} is not in the allow-list " \
                            "(control.osc_allow, --osc-allow)"
        if self.token:
            cookie = SimpleCookie()
            try:
                cookie.load(headers.get("cookie", ""))
            except Exception:  # a malformed Cookie header is one without our token
                cookie = SimpleCookie()
            offered = [*query.get("token", ()), headers.get(HEADER, ""),
                       cookie[COOKIE].value if COOKIE in cookie else ""]
            if not any(hmac.compare_digest(o.encode(), self.token.encode()) for o in offered if o):
                return 401, "this page needs its token: open the address printed by " \
                            f"`{self.command}` (…/?token=...)"
        if scope["type"] == "websocket" and "origin" in headers:
            origin = urlsplit(headers["origin"]).netloc
            if origin != headers.get("host", ""):
                return 403, f"WebSocket from another site ({_clip(headers['origin'])}) refused"
        return None


async def _deny(scope: Scope, send: Callable, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    start = {"status": status, "headers": [(b"content-type", b"application/json"),
                                          (b"content-length", str(len(body)).encode())]}
    if scope["type"] == "http":
        await send({"type": "http.response.start", **start})
        await send({"type": "http.response.body", "body": body})
    elif "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", **start})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})


def _set_cookie(send: Callable, token: str) -> Callable:
    async def sending(message: dict) -> None:
        if message["type"] == "http.response.start":
            cookie = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict".encode()
            message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
        await send(message)
    return sending


def _clip(text: str, limit: int = 60) -> str:
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class ServerThread:
    """uvicorn serving ``app`` on (host, port) from a daemon thread with its own event loop.
    The socket is bound here, so a port in use is a one-line GansmaniaError and port 0 works."""

    def __init__(self, app: ASGIApp, host: str, port: int, *, max_message_bytes: int = 65536) -> None:
        import uvicorn

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
        except OSError as exc:
            self.socket.close()
            raise GansmaniaError(f"web remote: cannot listen on {host}:{port} ({exc.strerror})") \
                from None
        self.host, self.port = host, self.socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off",
                                ws_max_size=max_message_bytes, access_log=False)
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="web", daemon=True)

    def _serve(self) -> None:
        try:
            self.server.run(sockets=[self.socket])
        except BaseException:  # the show goes on without its remote
            log.exception("web remote stopped")

    def start(self, *, timeout_s: float = 10.0) -> None:
        self._thread.start()
        deadline = threading.Event()
        for _ in range(int(timeout_s / 0.02)):
            if self.server.started or not self._thread.is_alive():
                break
            deadline.wait(0.02)
        if not self.server.started:
            raise GansmaniaError(f"web remote: the server on {self.host}:{self.port} did not start")

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=5.0)
        self.socket.close()
