"""OSC in: a UDP server whose dispatcher turns messages into route-table writes.

Transport and routing stay apart, as in python-osc: :class:`OscServer` (a python-osc UDP server
on its own thread) receives datagrams and checks where they come from; :class:`RouteDispatcher`
(a python-osc Dispatcher) decodes packets, applies each message's route from
`visualizer.control.routes` and schedules bundles whose time tag lies in the future.

- Loopback (127.0.0.1) unless told otherwise: listening on the LAN is ``--osc-host 0.0.0.0``,
  optionally with an allow-list of client addresses or networks; datagrams from anywhere else
  are dropped before they are parsed.
- Bundles: messages run in time-tag order; a past or "immediately" tag runs now, a future one at
  its time (the server thread never sleeps on it: a scheduler thread holds it).
- Nothing a client sends can stop the server: malformed datagrams, wrong argument types or
  counts, unknown addresses and out-of-range values are each logged once (then counted, see
  routes.ProblemLog) and ignored.
- ``/gm/subscribe [port]`` and friends are transport, not routes: they go to the state feed
  (`visualizer.control.osc_feedback`).
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pythonosc import osc_bundle, osc_message, osc_packet, osc_server
from pythonosc.dispatcher import Dispatcher

from visualizer.control.routes import ProblemLog, Route, RouteTable, is_release, problem_key
from visualizer.core.errors import GansmaniaError

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
RECEIVE_BUFFER_BYTES = 4 << 20  # a burst of a few thousand messages waits in the kernel
MAX_AHEAD_S = 60.0  # bundles timed further ahead are refused (memory is bounded)
MAX_SCHEDULED = 10_000  # messages waiting for their time tag, at most
_PATTERN_CHARS = frozenset("*?[]{}")

TransportHandler = Callable[[tuple[str, int], Sequence[Any]], str | None]


# ----------------------------------------------------------------------------- scheduling

class BundleScheduler:
    """Runs callables at wall-clock times (OSC time tags are NTP = wall clock), in time order,
    on one thread. Equal times keep their arrival order."""

    def __init__(self, *, max_pending: int = MAX_SCHEDULED, max_ahead_s: float = MAX_AHEAD_S,
                 wall: Callable[[], float] = time.time) -> None:
        self.max_pending = max_pending
        self.max_ahead_s = max_ahead_s
        self._wall = wall
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="osc-bundles", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stop = True
            self._heap.clear()
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    @property
    def pending(self) -> int:
        return len(self._heap)

    def schedule(self, at_s: float, job: Callable[[], None]) -> str | None:
        """Run ``job`` at wall time ``at_s`` (time.time() seconds); a one-line problem when it
        is too far ahead or too many jobs wait."""
        ahead = at_s - self._wall()
        if ahead > self.max_ahead_s:
            return f"bundle time tag {ahead:.0f} s ahead (at most {self.max_ahead_s:.0f} s)"
        with self._wake:
            if len(self._heap) >= self.max_pending:
                return f"{len(self._heap)} timed messages already wait (at most {self.max_pending})"
            heapq.heappush(self._heap, (at_s, next(self._order), job))
            self._wake.notify()
        return None

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stop and (not self._heap or self._heap[0][0] > self._wall()):
                    timeout = None if not self._heap else max(self._heap[0][0] - self._wall(), 0.0)
                    self._wake.wait(timeout if timeout is None else min(timeout, 0.5))
                if self._stop:
                    return
                _, _, job = heapq.heappop(self._heap)
            job()


# ----------------------------------------------------------------------------- dispatching

class RouteDispatcher(Dispatcher):
    """A python-osc Dispatcher for a RouteTable (see the module docstring).

    Plain addresses are looked up in a dict (a flood of thousands of messages a second must not
    run a regular expression per route per message); OSC address patterns (``/gm/map/*/strength``)
    go through python-osc's pattern matching over every route.
    """

    def __init__(self, table: RouteTable, *, problems: ProblemLog,
                 scheduler: BundleScheduler | None = None,
                 transport: dict[str, TransportHandler] | None = None,
                 source: str = "osc") -> None:
        super().__init__()
        self.table = table
        self.problems = problems
        self.scheduler = scheduler
        self.source = source
        self.applied = 0  # messages that changed a parameter or posted an action
        self.on_message: Callable[[tuple[str, int]], None] | None = None  # e.g. renew subscriptions
        self._exact: dict[str, Any] = {}
        for address, route in table.routes.items():
            self._map_one(address, self._route_handler(route))
        for address, handler in (transport or {}).items():
            self._map_one(address, self._transport_handler(address, handler))
        self.set_default_handler(self._unknown, needs_reply_address=True)

    def _map_one(self, address: str, callback: Callable[..., None]) -> None:
        handler = self.map(address, callback, needs_reply_address=True)
        self._exact[address] = handler

    def handlers_for_address(self, address_pattern: str):
        handler = self._exact.get(address_pattern)
        if handler is not None:
            yield handler
        elif _PATTERN_CHARS.isdisjoint(address_pattern):
            yield self._default_handler
        else:
            yield from super().handlers_for_address(address_pattern)

    def _route_handler(self, route: Route) -> Callable[..., None]:
        def handle(client: tuple[str, int], address: str, *args: Any) -> None:
            error = self.table.apply(route, args, source=self.source)
            if error is None:
                self.applied += 1
            elif not is_release(error):
                self.problems.problem(problem_key(error), error)
        return handle

    def _transport_handler(self, address: str, handler: TransportHandler) -> Callable[..., None]:
        def handle(client: tuple[str, int], _address: str, *args: Any) -> None:
            error = handler(client, args)
            if error is not None:
                self.problems.problem(f"bad value:{address}", f"{address}: {error}")
        return handle

    def _unknown(self, client: tuple[str, int], address: str, *args: Any) -> None:
        shown = "".join(c if c.isprintable() else "?" for c in address[:60])
        self.problems.problem(f"unknown address:{shown}",
                              f"unknown address {shown} (see `gansmania osc addresses`)")

    def call_handlers_for_packet(self, data: bytes, client_address: tuple[str, int]) -> list:
        """Decode one datagram and apply (or schedule) its messages in time-tag order."""
        unsupported = unsupported_type_tag(data)
        if unsupported is not None:
            # python-osc would skip the argument and log a warning per datagram: refuse it here.
            self.problems.problem("malformed", f"datagram from {client_address[0]} has an "
                                               f"unsupported OSC type tag {unsupported!r}")
            return []
        try:
            packet = osc_packet.OscPacket(data)
        except osc_packet.ParseError as exc:
            self.problems.problem("malformed", f"malformed datagram from {client_address[0]}: "
                                               f"{str(exc)[:80]}")
            return []
        except Exception as exc:  # python-osc trusts lengths in the data; random bytes break it
            self.problems.problem("malformed", f"malformed datagram from {client_address[0]}: "
                                               f"{type(exc).__name__}")
            return []
        if self.on_message is not None:
            self.on_message(client_address)
        now = time.time()
        for timed in packet.messages:
            if timed.time > now + 1e-3 and self.scheduler is not None:
                error = self.scheduler.schedule(
                    timed.time, lambda m=timed.message: self._invoke(client_address, m))
                if error is not None:
                    self.problems.problem("bundle", f"{timed.message.address}: {error}")
            else:
                self._invoke(client_address, timed.message)
        return []

    def _invoke(self, client: tuple[str, int], message: osc_message.OscMessage) -> None:
        for handler in self.handlers_for_address(message.address):
            handler.invoke(client, message)


_TYPE_TAGS = frozenset("ifdsbhtTFNIcmr[]")  # what python-osc decodes


def unsupported_type_tag(data: bytes, *, depth: int = 0) -> str | None:
    """The first type tag python-osc cannot decode in a message or (nested) bundle, or None.
    Structure errors are left to the parser, which reports them."""
    if data.startswith(b"#bundle\x00") and depth < 8:
        index = 16
        while index + 4 <= len(data):
            size = int.from_bytes(data[index:index + 4], "big", signed=True)
            if size <= 0 or index + 4 + size > len(data):
                return None
            found = unsupported_type_tag(data[index + 4:index + 4 + size], depth=depth + 1)
            if found is not None:
                return found
            index += 4 + size
        return None
    end = data.find(b"\x00")
    if not data.startswith(b"/") or end < 0:
        return None
    tags_at = (end + 4) & ~3
    if data[tags_at:tags_at + 1] != b",":
        return None
    tags_end = data.find(b"\x00", tags_at)
    tags = data[tags_at + 1:tags_end if tags_end >= 0 else len(data)]
    for byte in tags:
        if chr(byte) not in _TYPE_TAGS:
            return chr(byte) if 32 <= byte < 127 else f"\\x{byte:02x}"
    return None


# ----------------------------------------------------------------------------- the server

@dataclass(frozen=True)
class Listen:
    """Where the server listens and whom it hears."""

    host: str = LOOPBACK
    port: int = 9000  # 0 = any free port (tests)
    allow: tuple[str, ...] = ()  # client addresses or networks ("192.168.1.20", "10.0.0.0/24")


def parse_allow(entries: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The allow-list as networks; GansmaniaError (one line) for an entry that is not one."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise GansmaniaError(f"--osc-allow {entry!r}: not an IP address or network "
                                 "(e.g. 192.168.1.20 or 192.168.1.0/24)") from None
    return tuple(networks)


class _Server(osc_server.OSCUDPServer):
    """python-osc's UDP server with the allow-list and problem counting in verify_request."""

    allow_reuse_address = False

    def __init__(self, address: tuple[str, int], dispatcher: RouteDispatcher,
                 allow: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> None:
        self.allow = tuple(allow)
        self.refused = 0  # datagrams from outside the allow-list
        self.received = 0
        super().__init__(address, dispatcher)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)

    def verify_request(self, request, client_address) -> bool:
        self.received += 1
        if self.allow and not allowed(client_address[0], self.allow):
            self.refused += 1
            self.dispatcher.problems.problem(f"refused:{client_address[0]}",
                                             f"datagram from {client_address[0]}, which is not "
                                             "in --osc-allow")
            return False
        if not (osc_bundle.OscBundle.dgram_is_bundle(request[0])
                or osc_message.OscMessage.dgram_is_message(request[0])):
            self.dispatcher.problems.problem("malformed", f"datagram from {client_address[0]} "
                                                          "is not OSC")
            return False
        return True

    def handle_error(self, request, client_address) -> None:
        # socketserver prints tracebacks to stderr; a bad datagram is only a logged problem.
        self.dispatcher.problems.problem("malformed", f"datagram from {client_address[0]} "
                                                      "could not be handled")
        log.debug("OSC datagram from %s failed", client_address, exc_info=True)


def allowed(host: str, allow: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """Whether ``host`` (an address, as a socket reports it) is in one of the ``allow`` networks."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    # A dual-stack socket ("::") reports IPv4 clients as ::ffff:a.b.c.d; the list names a.b.c.d.
    address = getattr(address, "ipv4_mapped", None) or address
    return any(address in network for network in allow)


class OscServer:
    """UDP OSC server on its own thread: ``start()``, ``port``, ``send(datagram, address)``,
    ``close()``. ``transport`` maps extra addresses (subscribe...) to handlers."""

    def __init__(self, table: RouteTable, listen: Listen, *, problems: ProblemLog | None = None,
                 transport: dict[str, TransportHandler] | None = None) -> None:
        allow = parse_allow(listen.allow)
        self.problems = problems or ProblemLog("OSC")
        self.scheduler = BundleScheduler()
        self.dispatcher = RouteDispatcher(table, problems=self.problems, scheduler=self.scheduler,
                                          transport=transport)
        try:
            self._server = _Server((listen.host, listen.port), self.dispatcher, allow)
        except OSError as exc:
            raise GansmaniaError(f"OSC: cannot listen on {listen.host}:{listen.port} "
                                 f"({exc.strerror or exc}); pick another --osc-port") from None
        except socket.gaierror as exc:
            raise GansmaniaError(f"--osc-host {listen.host!r}: {exc}") from None
        self.host = listen.host
        self._thread: threading.Thread | None = None
        if listen.host not in (LOOPBACK, "localhost", "::1") and not allow:
            log.warning("OSC listens on %s with no --osc-allow: anyone on the network can "
                        "steer the show", listen.host)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def received(self) -> int:
        return self._server.received

    @property
    def refused(self) -> int:
        return self._server.refused

    def start(self) -> None:
        self.scheduler.start()
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, name="osc-in", daemon=True)
        self._thread.start()
        log.info("OSC listening on %s:%d (UDP)", self.host, self.port)

    def send(self, datagram: bytes, address: tuple[str, int]) -> None:
        """Send from the server's own port (clients see replies come from where they send)."""
        try:
            self._server.socket.sendto(datagram, address)
        except OSError as exc:  # an unreachable subscriber must not stop the feed
            self.problems.problem(f"send:{address[0]}", f"cannot send to {address[0]}:{address[1]} "
                                                        f"({exc.strerror or exc})")

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=2.0)
            self._thread = None
        self.scheduler.stop()
        self._server.server_close()
