"""The show's state fed back to the surfaces that follow it (OSC clients, web pages), so their
faders follow changes made elsewhere (another surface, a preset switch, the keyboard).

One implementation for every transport: a subscriber is a key and a ``deliver(messages)``
callable. It gets everything once, and from then on, at most ``rate_hz`` times a second, what
changed, as ``(address, args)`` pairs in the OSC address space:

- every parameter that changed, at ``/gm/state/<its address>`` (``/gm/state/intensity``,
  ``/gm/state/map/pulse/strength``, ``/gm/state/fx/bloom/intensity``; bools as 0/1);
- the status values that changed (``/gm/state/preset``, ``/gm/state/bpm``, ...: whatever the
  status source returns).

Changes between two sends are coalesced (a fader swept through 300 values sends its last). A
subscriber may expire after ``expire_s`` unless renewed (OSC, where nothing says a client left);
one that disconnects (a WebSocket) is removed by its transport. The OSC side is
`visualizer.control.osc_feedback`, the web side `visualizer.web.remote`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from visualizer.control.params import ControlEvent, ParamStore
from visualizer.control.routes import STATE_ROOT, RouteTable

log = logging.getLogger(__name__)

RATE_HZ = 30.0  # TouchOSC redraws at 30-60 Hz; more would only cost Wi-Fi airtime
MAX_SUBSCRIBERS = 16

Messages = list[tuple[str, list[Any]]]
StatusSource = Callable[[], Mapping[str, Any]]
Deliver = Callable[[Messages], None]


def state_args(value: Any) -> list[Any]:
    """A parameter value as OSC arguments: bools as 0/1 (what toggles and LEDs expect)."""
    if isinstance(value, tuple):
        return [state_args(item)[0] for item in value]
    if isinstance(value, bool):
        return [int(value)]
    return [value]


@dataclass
class _Subscriber:
    deliver: Deliver
    expire_s: float | None  # None: until removed
    expiry: float | None  # clock s


class StateFeed:
    """Subscriptions and the feed thread (see the module docstring)."""

    def __init__(self, table: RouteTable, params: ParamStore, *, status: StatusSource | None = None,
                 rate_hz: float = RATE_HZ, max_subscribers: int = MAX_SUBSCRIBERS,
                 name: str = "feedback", clock: Callable[[], float] = time.monotonic) -> None:
        self.table = table
        self.params = params
        self.name = name
        self._status = status or dict
        self.period_s = 1.0 / rate_hz
        self.max_subscribers = max_subscribers
        self._clock = clock
        self._addresses = table.state_addresses()
        self._subscribers: dict[Hashable, _Subscriber] = {}
        self._fresh: set[Hashable] = set()  # subscribed since the last send: they get everything
        self._dirty: set[str] = set()
        self._last_status: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._remove_listener = params.add_listener(self._on_event)

    # ------------------------------------------------------------------ subscriptions

    @property
    def subscribers(self) -> list[Hashable]:
        with self._lock:
            return list(self._subscribers)

    def add(self, key: Hashable, deliver: Deliver, *, expire_s: float | None = None) -> str | None:
        """Subscribe (or renew) ``key``: everything at the next step, then changes. Returns a
        one-line problem when the feed is full."""
        with self._lock:
            if key not in self._subscribers and len(self._subscribers) >= self.max_subscribers:
                return f"{self.max_subscribers} subscribers already; unsubscribe one first"
            new = key not in self._subscribers
            expiry = None if expire_s is None else self._clock() + expire_s
            self._subscribers[key] = _Subscriber(deliver, expire_s, expiry)
            self._fresh.add(key)
        if new:
            log.info("%s to %s", self.name, self.describe(key))
        self._wake.set()
        return None

    def remove(self, key: Hashable) -> None:
        with self._lock:
            removed = self._subscribers.pop(key, None)
            self._fresh.discard(key)
        if removed is not None:
            log.info("%s to %s ended", self.name, self.describe(key))

    def renew_where(self, match: Callable[[Hashable], bool]) -> None:
        """Push back the expiry of every expiring subscriber ``match`` accepts."""
        now = self._clock()
        with self._lock:
            for key, subscriber in self._subscribers.items():
                if subscriber.expire_s is not None and match(key):
                    subscriber.expiry = now + subscriber.expire_s

    def describe(self, key: Hashable) -> str:
        return str(key)

    def everything(self, status: dict[str, list[Any]] | None = None) -> Messages:
        """The full state now: every parameter, then the status values."""
        snapshot = self.params.snapshot()
        messages = [(address, state_args(snapshot[name]))
                    for name, addresses in self._addresses.items() for address in addresses]
        return messages + list((status or self._status_messages()).items())

    # ------------------------------------------------------------------ the feed

    def _on_event(self, event: ControlEvent) -> None:
        if event.kind == "param" and event.name in self._addresses:
            with self._lock:
                self._dirty.add(event.name)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
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
                log.exception("%s failed; trying again", self.name)
            idle = not self._subscribers
            delay = self.period_s - (self._clock() - started)
            # Without subscribers there is nothing to send: sleep until one arrives.
            self._wake.wait(None if idle else max(delay, 0.0))
            self._wake.clear()

    def send_once(self) -> None:
        """One feed step: expire, send everything to new subscribers, changes to the others."""
        now = self._clock()
        with self._lock:
            for key in [k for k, s in self._subscribers.items()
                        if s.expiry is not None and s.expiry <= now]:
                expire_s = self._subscribers.pop(key).expire_s
                self._fresh.discard(key)
                log.info("%s to %s expired (no message for %.0f s)", self.name,
                         self.describe(key), expire_s)
            fresh, self._fresh = self._fresh, set()
            dirty, self._dirty = self._dirty, set()
            targets = list(self._subscribers.items())
        if not targets:
            self._last_status = {}
            return
        status = self._status_messages()
        snapshot = self.params.snapshot()
        changes = [(address, state_args(snapshot[name])) for name in sorted(dirty)
                   for address in self._addresses[name]]
        changes += [(address, args) for address, args in status.items()
                    if self._last_status.get(address) != args]
        self._last_status = status
        full = self.everything(status) if fresh else []
        for key, subscriber in targets:
            messages = full if key in fresh else changes
            if messages:
                try:
                    subscriber.deliver(messages)
                except Exception:  # one broken subscriber must not starve the others
                    log.exception("%s to %s failed", self.name, self.describe(key))

    def _status_messages(self) -> dict[str, list[Any]]:
        return {f"{STATE_ROOT}/{key}": state_args(value) for key, value in self._status().items()}
