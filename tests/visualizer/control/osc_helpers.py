"""Helpers for the OSC tests: a show's parameter store, a server on a free loopback port, and a
client that sends over real UDP and reads the state feed back."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from visualizer.control.master import master_param_specs
from visualizer.control.osc import Listen, OscServer
from visualizer.control.osc_feedback import OscFeed
from visualizer.control.params import ParamStore
from visualizer.control.routes import build_routes
from visualizer.control.shader_params import shader_param_specs
from visualizer.mapping.settings import controller_param_specs
from visualizer.render.library import ShaderLibrary


def show_params() -> ParamStore:
    """Every live parameter of a show (controller, master, shader passes) at its default."""
    return ParamStore({**controller_param_specs(), **master_param_specs(),
                       **shader_param_specs(ShaderLibrary(None))})


class Served:
    """A running OscServer + OscFeed over ``params`` on 127.0.0.1 (a free port)."""

    def __init__(self, params: ParamStore, *, allow: tuple[str, ...] = (), rate_hz: float = 30.0,
                 status: Callable[[], dict] | None = None) -> None:
        self.params = params
        self.table = build_routes(params)
        self.feed = OscFeed(self.table, params, send=lambda d, a: self.server.send(d, a),
                              status=status, rate_hz=rate_hz)
        self.server = OscServer(self.table, Listen("127.0.0.1", 0, allow),
                                transport={"/gm/subscribe": self.feed.subscribe,
                                           "/gm/unsubscribe": self.feed.unsubscribe,
                                           "/gm/state": self.feed.request})
        self.server.dispatcher.on_message = self.feed.renew
        self.server.start()
        self.feed.start()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.server.port)

    def close(self) -> None:
        self.feed.close()
        self.server.close()


def message(address: str, *args: Any) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


class Client:
    """Sends from ``host`` (a loopback address) and collects what comes back on its socket."""

    def __init__(self, server: tuple[str, int], *, host: str = "127.0.0.1") -> None:
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.05)
        self.received: list[tuple[float, str, list[Any]]] = []  # (time, address, args)
        self.state: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def send(self, address: str, *args: Any) -> None:
        self.sock.sendto(message(address, *args), self.server)

    def send_raw(self, datagram: bytes) -> None:
        self.sock.sendto(datagram, self.server)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            now = time.monotonic()
            with self._lock:
                for timed in OscPacket(data).messages:
                    self.received.append((now, timed.message.address, timed.message.params))
                    self.state[timed.message.address] = timed.message.params

    def wait_for(self, address: str, check: Callable[[list[Any]], bool], *,
                 timeout_s: float = 5.0) -> list[Any] | None:
        """The state at ``address`` once ``check(args)`` holds; None on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                args = self.state.get(address)
            if args is not None and check(args):
                return args
            time.sleep(0.01)
        return None

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)
        self.sock.close()


def near(expected: float, tolerance: float = 1e-4) -> Callable[[list[Any]], bool]:
    """OSC floats are 32-bit: compare with a tolerance."""
    return lambda args: len(args) == 1 and abs(float(args[0]) - expected) <= tolerance


def drive_show(app, script: Callable[[], None], *, closers: tuple[Callable[[], None], ...] = (),
               duration_s: float = 60.0) -> None:
    """Run the headless ``app`` while ``script`` drives it from another thread (over OSC, say);
    the show stops when the script returns or raises, then ``closers`` run in order and the app
    closes. The show's own thread must run the loop: GL contexts belong to their thread."""
    def wrapped() -> None:
        try:
            script()
        finally:
            app.request_stop()

    thread = threading.Thread(target=wrapped, daemon=True)
    thread.start()
    try:
        app.run(duration_s=duration_s)
    finally:
        thread.join(timeout=10)
        for close in closers:
            close()
        app.close()
