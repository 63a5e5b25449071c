"""OSC out: the show's state sent back to subscribed surfaces, so faders follow changes made
elsewhere (another surface, a preset switch, the keyboard).

A client sends ``/gm/subscribe [port]`` (port: where it listens; default the port it sent
from). It then gets everything once, and from then on, at most ``rate_hz`` times a second:

- every parameter that changed, at ``/gm/state/<its address>`` (``/gm/state/intensity``,
  ``/gm/state/map/pulse/strength``, ``/gm/state/fx/bloom/intensity``; bools as 0/1);
- the status values that changed: ``/gm/state/preset`` (name), ``/gm/state/bpm``,
  ``/gm/state/beat`` (beat phase 0..1), ``/gm/state/level`` (0..1), ``/gm/state/recording``
  (0/1), ``/gm/state/tempo`` (the tempo source).

Changes between two sends are coalesced (a fader swept through 300 values sends its last), and
each send is packed into bundles that fit one Ethernet frame. A subscription expires after
``expire_s`` unless renewed (any message from that host renews it: a surface in use stays
subscribed); ``/gm/unsubscribe [port]`` ends it, ``/gm/state [port]`` asks for everything once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from visualizer.control.params import ControlEvent, ParamStore
from visualizer.control.routes import STATE_ROOT, RouteTable

log = logging.getLogger(__name__)

RATE_HZ = 30.0  # TouchOSC redraws at 30-60 Hz; more would only cost Wi-Fi airtime
EXPIRE_S = 600.0
MAX_SUBSCRIBERS = 16
BUNDLE_BYTES = 1400  # one Ethernet frame, with room for IP/UDP headers

StatusSource = Callable[[], Mapping[str, Any]]
Send = Callable[[bytes, tuple[str, int]], None]
Address = tuple[str, int]


def osc_args(value: Any) -> list[Any]:
    """A parameter value as OSC arguments: bools as 0/1 (what toggles and LEDs expect)."""
    if isinstance(value, tuple):
        return [osc_args(item)[0] for item in value]
    if isinstance(value, bool):
        return [int(value)]
    return [value]


class StateFeed:
    """Subscriptions and the feed thread (see the module docstring)."""

    def __init__(self, table: RouteTable, params: ParamStore, *, send: Send,
                 status: StatusSource | None = None, rate_hz: float = RATE_HZ,
                 expire_s: float = EXPIRE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.table = table
        self.params = params
        self._send = send
        self._status = status or dict
        self.period_s = 1.0 / rate_hz
        self.expire_s = expire_s
        self._clock = clock
        self._addresses = table.state_addresses()
        self._subscribers: dict[Address, float] = {}  # -> expiry (clock s)
        self._fresh: set[Address] = set()  # subscribed since the last send: they get everything
        self._dirty: set[str] = set()
        self._last_status: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sends = 0  # bundles sent
        self._remove_listener = params.add_listener(self._on_event)

    # ------------------------------------------------------------------ subscriptions

    @property
    def subscribers(self) -> list[Address]:
        with self._lock:
            return sorted(self._subscribers)

    def subscribe(self, client: Address, args: Sequence[Any]) -> str | None:
        """``/gm/subscribe [port]`` from ``client`` (its source address)."""
        address = _reply_address(client, args)
        if isinstance(address, str):
            return address
        with self._lock:
            if address not in self._subscribers and len(self._subscribers) >= MAX_SUBSCRIBERS:
                return f"{MAX_SUBSCRIBERS} subscribers already; unsubscribe one first"
            new = address not in self._subscribers
            self._subscribers[address] = self._clock() + self.expire_s
            self._fresh.add(address)
        if new:
            log.info("OSC feedback to %s:%d", *address)
        self._wake.set()
        return None

    def unsubscribe(self, client: Address, args: Sequence[Any]) -> str | None:
        address = _reply_address(client, args)
        if isinstance(address, str):
            return address
        with self._lock:
            removed = self._subscribers.pop(address, None)
            self._fresh.discard(address)
        if removed is not None:
            log.info("OSC feedback to %s:%d ended", *address)
        return None

    def request(self, client: Address, args: Sequence[Any]) -> str | None:
        """``/gm/state [port]``: everything, once, to the sender."""
        address = _reply_address(client, args)
        if isinstance(address, str):
            return address
        self._send_all(address, self._full_state())
        return None

    def renew(self, client: Address) -> None:
        """Any message from a subscribed host keeps its subscriptions alive."""
        host = client[0]
        with self._lock:
            expiry = self._clock() + self.expire_s
            for address in self._subscribers:
                if address[0] == host:
                    self._subscribers[address] = expiry

    # ------------------------------------------------------------------ the feed

    def _on_event(self, event: ControlEvent) -> None:
        if event.kind == "param" and event.name in self._addresses:
            with self._lock:
                self._dirty.add(event.name)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="osc-feedback", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._remove_listener()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = self._clock()
            try:
                self.send_once()
            except Exception:  # a broken status source must not end feedback for good
                log.exception("OSC feedback failed; trying again")
            idle = not self._subscribers
            delay = self.period_s - (self._clock() - started)
            # Without subscribers there is nothing to send: sleep until one arrives.
            self._wake.wait(None if idle else max(delay, 0.0))
            self._wake.clear()

    def send_once(self) -> None:
        """One feed step: expire, send everything to new subscribers, changes to the others."""
        now = self._clock()
        with self._lock:
            for address in [a for a, expiry in self._subscribers.items() if expiry <= now]:
                del self._subscribers[address]
                self._fresh.discard(address)
                log.info("OSC feedback to %s:%d expired (no message for %.0f s)", *address,
                         self.expire_s)
            fresh, self._fresh = self._fresh, set()
            dirty, self._dirty = self._dirty, set()
            targets = list(self._subscribers)
        if not targets:
            self._last_status = {}
            return
        status = self._status_messages()
        snapshot = self.params.snapshot()
        changes = [(address, osc_args(snapshot[name])) for name in sorted(dirty)
                   for address in self._addresses[name]]
        changes += [(address, args) for address, args in status.items()
                    if self._last_status.get(address) != args]
        self._last_status = status
        everything = self._full_state(status) if fresh else []
        for target in targets:
            messages = everything if target in fresh else changes
            if messages:
                self._send_all(target, messages)

    def _full_state(self, status: dict[str, list[Any]] | None = None) -> list[tuple[str, list[Any]]]:
        snapshot = self.params.snapshot()
        messages = [(address, osc_args(snapshot[name]))
                    for name, addresses in self._addresses.items() for address in addresses]
        return messages + list((status or self._status_messages()).items())

    def _status_messages(self) -> dict[str, list[Any]]:
        return {f"{STATE_ROOT}/{key}": osc_args(value) for key, value in self._status().items()}

    def _send_all(self, target: Address, messages: Sequence[tuple[str, list[Any]]]) -> None:
        for datagram in pack_bundles(messages):
            self._send(datagram, target)
            self.sends += 1


def pack_bundles(messages: Sequence[tuple[str, list[Any]]], *,
                 limit: int = BUNDLE_BYTES) -> list[bytes]:
    """``messages`` as immediate bundles of at most ``limit`` bytes each (a message bigger than
    that travels alone)."""
    datagrams, builder, size = [], OscBundleBuilder(IMMEDIATELY), 16
    for address, args in messages:
        message = OscMessageBuilder(address)
        for arg in args:
            message.add_arg(arg)
        built = message.build()
        length = 4 + len(built.dgram)
        if size + length > limit and size > 16:
            datagrams.append(builder.build().dgram)
            builder, size = OscBundleBuilder(IMMEDIATELY), 16
        builder.add_content(built)
        size += length
    if size > 16:
        datagrams.append(builder.build().dgram)
    return datagrams


def _reply_address(client: Address, args: Sequence[Any]) -> Address | str:
    if not args:
        return client[0], client[1]
    port = args[0]
    if len(args) == 1 and isinstance(port, int | float) and not isinstance(port, bool) \
            and float(port).is_integer() and 1 <= port <= 65535:
        return client[0], int(port)
    return f"wants no argument or a port 1..65535, got {' '.join(repr(a) for a in args[:3])}"
