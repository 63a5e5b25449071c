"""A loopback HTTP site for tests and benchmarks: pages are Python functions, faults are scripted.

The crawler is tested and measured against this server only (127.0.0.1, an ephemeral port):
never against the real museums. It speaks HTTP/1.1 with keep-alive like a real server, can add
a fixed latency to every answer, count and time requests per path, and play scripted replies
first (a 429 with Retry-After, 500s, a stall longer than the client's timeout, a body cut short,
a redirect) before the normal page.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names


@dataclass(frozen=True)
class Reply:
    """One answer. ``delay_s`` stalls before answering; ``truncate_at`` sends that many body
    bytes under the full Content-Length and drops the connection."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0
    truncate_at: int | None = None

    @staticmethod
    def json(data: object, status: int = 200) -> Reply:
        return Reply(status, json.dumps(data).encode(), "application/json")

    @staticmethod
    def html(text: str, status: int = 200) -> Reply:
        return Reply(status, text.encode(), "text/html; charset=utf-8")

    @staticmethod
    def text(text: str, status: int = 200) -> Reply:
        return Reply(status, text.encode(), "text/plain; charset=utf-8")

    @staticmethod
    def redirect(location: str, status: int = 302) -> Reply:
        return Reply(status, b"", "text/plain", (("Location", location),))


Handler = Callable[[Request], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stalled reply must not hold up closing the site

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        # Clients that hang up (timeouts, killed crawls) are part of what this site tests.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
NOT_FOUND = Reply(404, b"not found", "text/plain")


@dataclass
class _Log:
    hits: Counter = field(default_factory=Counter)
    times: defaultdict = field(default_factory=lambda: defaultdict(list))
    agents: set = field(default_factory=set)
    in_flight: int = 0
    max_in_flight: int = 0


class LocalSite:
    """A threaded HTTP server on 127.0.0.1 (see the module doc). Use as a context manager."""

    def __init__(self, *, latency_s: float = 0.0, keep_times: bool = True) -> None:
        self.latency_s = latency_s
        self.keep_times = keep_times
        self._routes: dict[str, Handler] = {}
        self._scripts: dict[str, deque[Reply]] = {}
        self._lock = threading.Lock()
        self._log = _Log()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- setup

    def route(self, prefix: str, handler: Handler) -> None:
        """Answer paths starting with ``prefix`` (the longest matching prefix wins)."""
        self._routes[prefix] = handler

    def page(self, path: str, reply: Reply) -> None:
        """Answer exactly ``path`` with ``reply``."""
        self._routes[path] = lambda request, _reply=reply: _reply if request.path == path \
            else NOT_FOUND

    def script(self, path: str, *replies: Reply) -> None:
        """Serve ``replies`` to the next requests of ``path``, one each, before its route."""
        with self._lock:
            self._scripts.setdefault(path, deque()).extend(replies)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # ---------------------------------------------------------------- observation

    def hits(self, path: str) -> int:
        with self._lock:
            return self._log.hits[path]

    def total_hits(self, prefix: str = "/") -> int:
        with self._lock:
            return sum(n for p, n in self._log.hits.items() if p.startswith(prefix))

    def hit_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._log.hits)

    def times(self, path: str | None = None) -> list[float]:
        """time.monotonic() of each request of ``path``, or of every request, sorted (when
        keep_times)."""
        with self._lock:
            if path is not None:
                return list(self._log.times[path])
            return sorted(t for times in self._log.times.values() for t in times)

    def max_in_flight(self) -> int:
        """The most requests this site was answering at the same moment."""
        with self._lock:
            return self._log.max_in_flight

    def user_agents(self) -> set[str]:
        with self._lock:
            return set(self._log.agents)

    def reset_counts(self) -> None:
        with self._lock:
            self._log = _Log()

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> LocalSite:
        self._thread = threading.Thread(target=self._server.serve_forever, name="localsite",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LocalSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- serving

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self._log.hits[request.path] += 1
            if self.keep_times:
                self._log.times[request.path].append(time.monotonic())
                self._log.agents.add(request.headers.get("user-agent", ""))
            queue = self._scripts.get(request.path)
            if queue:
                return queue.popleft()
        best = max((p for p in self._routes if request.path.startswith(p)), key=len, default=None)
        return self._routes[best](request) if best is not None else NOT_FOUND

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes; without this, Nagle's algorithm holds the
            # body until the client's delayed ACK of the headers (~40 ms), as no real server does.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                parts = urlsplit(self.path)
                request = Request(parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                                  {k.lower(): v for k, v in self.headers.items()})
                reply = site._answer(request)
                with site._lock:
                    log = site._log
                    log.in_flight += 1
                    log.max_in_flight = max(log.max_in_flight, log.in_flight)
                try:
                    time.sleep(site.latency_s + reply.delay_s)
                    self._send(reply)
                finally:
                    with site._lock:
                        log.in_flight -= 1

            def _send(self, reply: Reply) -> None:
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(reply.body)))
                    for name, value in reply.headers:
                        self.send_header(name, value)
                    self.end_headers()
                    if reply.truncate_at is None:
                        self.wfile.write(reply.body)
                        return
                    self.wfile.write(reply.body[:reply.truncate_at])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    self.close_connection = True  # the client gave up (a stall it timed out)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # the test output stays readable

        return _Handler


# ------------------------------------------------------------------------ content


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def artwork(seed: int, *, size: tuple[int, int] = (64, 64)) -> Image.Image:
    """A small abstract picture unique to ``seed``: 8x8 random colour blocks, scaled up with
    smoothing. Different seeds give perceptual hashes ~32 bits apart (not near duplicates)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    return Image.fromarray(blocks).resize(size, Image.BILINEAR)


def add_gallery(site: LocalSite, *, count: int, per_page: int, prefix: str = "/gallery",
                item_pages: bool = True, image: Callable[[int], bytes] | None = None,
                image_size: tuple[int, int] = (64, 64), listing_delay_s: float = 0.0) -> str:
    """A multi-page HTML gallery of ``count`` works on ``site``; returns the first page's URL.

    Listing pages ``{prefix}/page/N.html`` link to item pages ``{prefix}/item/I.html`` (or, with
    ``item_pages=False``, show the images themselves) and to the next page (``a.next``). Item
    ``I`` has title "Work I", artist "Artist I%17", date "19I%100", and its image at
    ``{prefix}/img/I.png`` (``image(I)``, default :func:`artwork`). Listing pages answer
    ``listing_delay_s`` late (on top of the site's latency). Pages are made on request, so a
    100k-item gallery costs no memory.
    """
    pages = max(1, -(-count // per_page))
    make_image = image or (lambda i: png_bytes(artwork(i, size=image_size)))

    def listing(request: Request) -> Reply:
        number = _number(request.path)
        if number is None or not 1 <= number <= pages:
            return NOT_FOUND
        first = (number - 1) * per_page
        ids = range(first, min(count, first + per_page))
        if item_pages:
            links = "".join(f'<li><a class="work" href="{prefix}/item/{i}.html">Work {i}</a></li>'
                            for i in ids)
        else:
            links = "".join(f'<li><img class="art" alt="Work {i}" src="{prefix}/img/{i}.png">'
                            f"</li>" for i in ids)
        next_link = (f'<a class="next" rel="next" href="{prefix}/page/{number + 1}.html">next</a>'
                     if number < pages else "")
        html = (f"<html><head><title>Gallery page {number}</title></head><body><ul>{links}</ul>"
                f"{next_link}</body></html>")
        return Reply(200, html.encode(), "text/html; charset=utf-8", delay_s=listing_delay_s)

    def item(request: Request) -> Reply:
        number = _number(request.path)
        if number is None or not 0 <= number < count:
            return NOT_FOUND
        return Reply.html(
            f"<html><head><title>Work {number} | Gallery</title></head><body>"
            f'<h1 class="title">Work {number}</h1><p class="artist">Artist {number % 17}</p>'
            f'<p class="date">19{number % 100:02d}</p>'
            f'<figure><img class="art" src="{prefix}/img/{number}.png"></figure></body></html>')

    def picture(request: Request) -> Reply:
        number = _number(request.path)
        if number is None or not 0 <= number < count:
            return NOT_FOUND
        return Reply(200, make_image(number), "image/png")

    site.route(f"{prefix}/page/", listing)
    site.route(f"{prefix}/item/", item)
    site.route(f"{prefix}/img/", picture)
    return site.url(f"{prefix}/page/1.html")


def _number(path: str) -> int | None:
    stem = path.rsplit("/", 1)[-1].split(".", 1)[0]
    return int(stem) if stem.isdigit() else None
