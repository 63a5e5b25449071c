"""OSC out: the state feed (`visualizer.control.feedback`) sent to OSC clients as bundles.

A client sends ``/gm/subscribe [port]`` (port: where it listens; default the port it sent
from). It then gets everything once, and from then on, at most ``rate_hz`` times a second, what
changed (parameters at ``/gm/state/<its address>``, bools as 0/1; the status values
``/gm/state/preset`` (name), ``/gm/state/bpm``, ``/gm/state/beat`` (beat phase 0..1),
``/gm/state/level`` (0..1), ``/gm/state/fps``, ``/gm/state/recording`` (0/1),
``/gm/state/tempo`` (the tempo source)).

Each send is packed into bundles that fit one Ethernet frame. A subscription expires after
``expire_s`` unless renewed (any message from that host renews it: a surface in use stays
subscribed); ``/gm/unsubscribe [port]`` ends it, ``/gm/state [port]`` asks for everything once.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from visualizer.control.feedback import RATE_HZ, Messages, StateFeed, StatusSource
from visualizer.control.params import ParamStore
from visualizer.control.routes import RouteTable

EXPIRE_S = 600.0
BUNDLE_BYTES = 1400  # one Ethernet frame, with room for IP/UDP headers

Send = Callable[[bytes, tuple[str, int]], None]
Address = tuple[str, int]


class OscFeed(StateFeed):
    """The state feed's OSC subscriptions (see the module docstring)."""

    def __init__(self, table: RouteTable, params: ParamStore, *, send: Send,
                 status: StatusSource | None = None, rate_hz: float = RATE_HZ,
                 expire_s: float = EXPIRE_S, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(table, params, status=status, rate_hz=rate_hz, name="OSC feedback",
                         clock=clock)
        self._send = send
        self.expire_s = expire_s
        self.sends = 0  # bundles sent

    @property
    def subscribers(self) -> list[Address]:
        return sorted(super().subscribers)

    def describe(self, key: Address) -> str:
        return f"{key[0]}:{key[1]}"

    def subscribe(self, client: Address, args: Sequence[Any]) -> str | None:
        """``/gm/subscribe [port]`` from ``client`` (its source address)."""
        address = _reply_address(client, args)
        if isinstance(address, str):
            return address
        return self.add(address, functools.partial(self._send_all, address),
                        expire_s=self.expire_s)

    def unsubscribe(self, client: Address, args: Sequence[Any]) -> str | None:
        address = _reply_address(client, args)
        if isinstance(address, str):
            return address
        self.remove(address)
        return None

    def request(self, client: Address, args: Sequence[Any]) -> str | None:
        """``/gm/state [port]``: everything, once, to the sender."""
        address = _reply_address(client, args)
        if isinstance(address, str):
            return address
        self._send_all(address, self.everything())
        return None

    def renew(self, client: Address) -> None:
        """Any message from a subscribed host keeps its subscriptions alive."""
        self.renew_where(lambda address: address[0] == client[0])

    def _send_all(self, target: Address, messages: Messages) -> None:
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
