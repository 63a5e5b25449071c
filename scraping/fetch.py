"""Polite, robust HTTP: robots.txt, a per-host rate limit and concurrency cap, retries with
exponential backoff that honour ``Retry-After``, and redirects checked hop by hop.

Everything the crawler fetches goes through one :class:`Fetcher` (aiohttp, asyncio). A request
either returns its bytes or raises :class:`FetchFailed` with the manifest status and a reason.
aiohttp rather than httpx: at 32 concurrent requests httpx's connection pool cost the crawler
about three times as much CPU per request on this project's 2-core machines (measured against
the local gallery), and the crawl is CPU-bound there.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import logging
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import aiohttp
from protego import Protego

from scraping.settings import CrawlSettings
from scraping.sources.base import Page
from visualizer import __version__

log = logging.getLogger(__name__)

# Statuses worth another try: rate limiting and server-side trouble. Other 4xx are final.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ROBOTS_TOKEN = "gansmania"
PAGE_MAX_BYTES = 64 * 2**20
_CHUNK = 64 * 1024


class FetchFailed(Exception):
    """A URL that could not be fetched: ``status`` is the manifest status, ``reason`` the why."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def user_agent(contact: str) -> str:
    return f"{ROBOTS_TOKEN}/{__version__} (+https://github.com/gansmania/gansmania; {contact})"


def retry_after_s(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class HostGate:
    """One host's share of the crawl: at most ``concurrency`` requests in flight, starts spaced
    at least ``interval_s`` apart, and nothing at all while a ``Retry-After`` pause runs."""

    def __init__(self, *, concurrency: int, interval_s: float) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self.interval_s = interval_s
        self._next_start = 0.0
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every request to this host for ``seconds`` (the server asked us to)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._slots:
            while True:
                now = time.monotonic()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                # Reserve a start time before sleeping, so waiters queue up one interval apart
                # instead of all waking at the same instant.
                start = max(now, self._next_start)
                self._next_start = start + self.interval_s
                if start > now:
                    await asyncio.sleep(start - now)
                if time.monotonic() >= self._paused_until:
                    break  # else a pause began while we waited: wait it out, take a new turn
            yield


class _BytesSink:
    def __init__(self, limit: int) -> None:
        self.limit, self.data = limit, bytearray()

    def write(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > self.limit:
            raise FetchFailed("too_large", f"over {self.limit / 2**20:.3g} MB")

    def close(self) -> None:
        pass


class _FileSink:
    """Streams a body to disk and hashes it on the way, so a large image never sits in memory."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path, self.limit, self.size = path, limit, 0
        self.sha256 = hashlib.sha256()
        self.file = open(path, "wb")  # noqa: SIM115 - closed by close()

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise FetchFailed("too_large", f"over {self.limit / 2**20:.3g} MB")
        self.sha256.update(chunk)
        self.file.write(chunk)

    def close(self) -> None:
        self.file.close()


@dataclass(frozen=True)
class Download:
    """A body written to a file: where it came from, its type, size and sha256."""

    final_url: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class _Redirect:
    location: str


@dataclass(frozen=True)
class _Done:
    content_type: str


@dataclass(frozen=True)
class _Missing:
    """robots.txt answered 4xx: there are no rules."""

    code: int


@dataclass(frozen=True)
class _Retryable:
    problem: str
    status: str  # the manifest status if this is the last try
    retry_after_s: float | None = None


class Fetcher:
    """The crawl's one HTTP client (see the module doc). Use as ``async with Fetcher(...)``."""

    def __init__(self, settings: CrawlSettings, *, headers: dict[str, str] | None = None,
                 seed: int | None = None) -> None:
        self.settings = settings
        self._headers = {"User-Agent": user_agent(settings.contact), **(headers or {})}
        self._gates: dict[str, HostGate] = {}
        self._robots: dict[str, asyncio.Future[Protego | None]] = {}
        self._random = random.Random(seed)
        # Connect and each read may stall timeout_s; a whole transfer is bounded separately.
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=settings.timeout_s,
                                        sock_read=settings.timeout_s)
        connector = aiohttp.TCPConnector(limit=2 * settings.concurrency + 2, limit_per_host=0)
        self._client = aiohttp.ClientSession(timeout=timeout, connector=connector,
                                             trust_env=False)
        self.requests = 0  # requests sent, retries and robots.txt included

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.close()

    # ---------------------------------------------------------------- public

    async def page(self, url: str, *, max_bytes: int = PAGE_MAX_BYTES) -> Page:
        """GET ``url`` into memory (listings, detail pages)."""
        sinks: list[_BytesSink] = []

        def new_sink() -> _BytesSink:
            sinks[:] = [_BytesSink(max_bytes)]
            return sinks[0]

        final_url, content_type = await self._get(url, new_sink)
        return Page(url=url, final_url=final_url, content_type=content_type,
                    body=bytes(sinks[0].data))

    async def download(self, url: str, dest: Path, *, max_bytes: int) -> Download:
        """GET ``url`` into the file ``dest`` (overwritten on each try), hashing it on the way."""
        sinks: list[_FileSink] = []

        def new_sink() -> _FileSink:
            sinks[:] = [_FileSink(dest, max_bytes)]
            return sinks[0]

        final_url, content_type = await self._get(url, new_sink)
        sink = sinks[0]
        return Download(final_url=final_url, content_type=content_type, size=sink.size,
                        sha256=sink.sha256.hexdigest())

    # ---------------------------------------------------------------- internals

    def gate(self, url: str) -> HostGate:
        host = urlsplit(url).netloc.lower()
        if host not in self._gates:
            rate = self.settings.rate_per_host_hz
            self._gates[host] = HostGate(concurrency=self.settings.per_host_concurrency,
                                         interval_s=1.0 / rate if rate > 0 else 0.0)
        return self._gates[host]

    async def _get(self, url: str, new_sink) -> tuple[str, str]:
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            if urlsplit(current).scheme not in ("http", "https"):
                raise FetchFailed("failed", f"not an http(s) URL: {current}")
            if not await self.allowed(current):
                raise FetchFailed("robots", f"robots.txt disallows {current}")
            outcome = await self._with_retries(current, new_sink)
            if isinstance(outcome, _Redirect):
                current = urljoin(current, outcome.location)
                continue
            return current, outcome.content_type
        raise FetchFailed("failed", f"more than {self.settings.max_redirects} redirects from {url}")

    async def _with_retries(self, url: str, new_sink, *, robots: bool = False):
        s = self.settings
        for attempt in range(s.retries + 1):
            outcome = await self._attempt(url, new_sink, robots=robots)
            if not isinstance(outcome, _Retryable):
                return outcome
            wait = self._backoff_s(attempt)
            if outcome.retry_after_s is not None:
                if outcome.retry_after_s > s.retry_after_max_s:
                    raise FetchFailed("failed", f"{outcome.problem} with Retry-After "
                                                f"{outcome.retry_after_s:.0f} s, over "
                                                f"crawl.retry_after_max_s = "
                                                f"{s.retry_after_max_s:g}: {url}")
                wait = outcome.retry_after_s
                self.gate(url).pause(wait)
            if attempt == s.retries:
                raise FetchFailed(outcome.status, f"{outcome.problem} after {attempt + 1} "
                                                  f"attempt{'s' if attempt else ''}: {url}")
            log.debug("%s: %s; retry %d in %.2f s", url, outcome.problem, attempt + 1, wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    def _backoff_s(self, attempt: int) -> float:
        # Exponential with "equal jitter": never less than half the step, so waits still grow,
        # while crawlers that failed together do not all come back at the same instant.
        step = min(self.settings.backoff_max_s, self.settings.backoff_s * 2 ** attempt)
        return step / 2 + self._random.uniform(0, step / 2)

    async def _attempt(self, url: str, new_sink, *, robots: bool):
        s = self.settings
        sink = None
        try:
            async with self.gate(url).slot():
                self.requests += 1
                async with asyncio.timeout(s.transfer_timeout_s):
                    async with self._client.get(url, headers=self._headers,
                                                allow_redirects=False) as response:
                        code = response.status
                        if code in REDIRECT_STATUSES and "Location" in response.headers:
                            return _Redirect(response.headers["Location"])
                        if code in RETRY_STATUSES:
                            return _Retryable(f"HTTP {code}", "failed",
                                              retry_after_s(response.headers.get("Retry-After")))
                        if not 200 <= code < 300:
                            if robots and 400 <= code < 500:
                                return _Missing(code)
                            raise FetchFailed("http_error", f"HTTP {code}: {url}")
                        sink = new_sink()
                        length = response.content_length
                        if length is not None and length > sink.limit:
                            raise FetchFailed("too_large", f"{length / 2**20:.3g} MB "
                                                           f"announced: {url}")
                        async for chunk in response.content.iter_chunked(_CHUNK):
                            sink.write(chunk)
                        return _Done(response.headers.get("Content-Type", ""))
        except TimeoutError:
            return _Retryable("timed out", "failed")
        except aiohttp.ClientPayloadError as exc:
            # The peer closed the connection before the whole body came: a truncated transfer.
            return _Retryable(f"connection dropped mid-body ({exc})", "truncated")
        except aiohttp.InvalidURL as exc:
            raise FetchFailed("failed", f"invalid URL: {exc}") from None
        except (aiohttp.ClientError, OSError) as exc:
            return _Retryable(f"network error ({type(exc).__name__}: {exc})", "failed")
        finally:
            if sink is not None:
                sink.close()

    # ---------------------------------------------------------------- robots.txt

    async def allowed(self, url: str) -> bool:
        """Whether robots.txt of ``url``'s origin lets us fetch it (fetched once per origin)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = asyncio.ensure_future(self._load_robots(origin))
        rules = await self._robots[origin]
        return rules is None or rules.can_fetch(url, ROBOTS_TOKEN)

    async def _load_robots(self, origin: str) -> Protego | None:
        """The origin's rules; None allows everything (no robots.txt: 4xx). Per RFC 9309 an
        unreachable robots.txt (5xx, network errors after retries) disallows everything."""
        url = f"{origin}/robots.txt"
        sink_holder: list[_BytesSink] = []

        def new_sink() -> _BytesSink:
            sink_holder[:] = [_BytesSink(512 * 1024)]
            return sink_holder[0]

        try:
            for _hop in range(self.settings.max_redirects + 1):
                outcome = await self._with_retries(url, new_sink, robots=True)
                if isinstance(outcome, _Redirect):
                    url = urljoin(url, outcome.location)
                    continue
                break
            else:
                return None
        except FetchFailed as exc:
            log.warning("%s: robots.txt unreachable (%s); not crawling this site", origin,
                        exc.reason)
            return Protego.parse("User-agent: *\nDisallow: /\n")
        if isinstance(outcome, _Missing):
            return None
        rules = Protego.parse(bytes(sink_holder[0].data).decode("utf-8", errors="replace"))
        delay = rules.crawl_delay(ROBOTS_TOKEN)
        if delay:
            gate = self.gate(origin)
            gate.interval_s = max(gate.interval_s, float(delay))
            log.info("%s: robots.txt asks for %.3g s between requests", origin, float(delay))
        return rules
