"""Helpers for the web remote's tests: a headless show with its remote, real clients over
loopback (websockets' sync client, urllib), and running a client script beside the show."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from websockets.sync.client import connect

from tests.visualizer.live_helpers import click_track, headless_app, show_config


def remote_show(tmp_path, *, web: str = "127.0.0.1:0", **overrides):
    """(app, surfaces, remote): a headless show on a click track with its remote on a free port."""
    from visualizer.control.surfaces import ControlSurfaces
    from visualizer.web.remote import WebRemote

    audio, _ = click_track(tmp_path / "click.wav", bpm=120.0, duration_s=30.0)
    show = show_config(audio, **{"display.fps": 30.0, "model.max_fps": 8.0,
                                 "control.web": web, **overrides})
    app = headless_app(show)
    surfaces = ControlSurfaces(app, show.control)
    remote = WebRemote(app, show.control, table=surfaces.table, status=surfaces.status,
                       slots=["drift"])
    return app, surfaces, remote


def run_beside(app, script: Callable[[], None], *, timeout_s: float = 120.0) -> None:
    """Run ``script`` in a thread while the show runs here (GL wants this thread); re-raise
    what the script raised."""
    failure: list[BaseException] = []

    def body() -> None:
        try:
            script()
        except BaseException as exc:  # handed to the test thread below
            failure.append(exc)
        finally:
            app.request_stop()

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    app.run(duration_s=timeout_s)
    thread.join(timeout=10)
    if failure:
        raise failure[0]


class Page:
    """A control WebSocket: sends JSON messages, keeps the newest state and the errors."""

    def __init__(self, base: str, **kwargs: Any) -> None:
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(connect(base.replace("http://", "ws://") + "ws", **kwargs))
        self.state: dict[str, list[Any]] = {}
        self.errors: list[str] = []
        self.messages = 0

    def send(self, address: str, *args: Any) -> None:
        self.ws.send(json.dumps({"address": address, "args": list(args)}))

    def wait_for(self, address: str, check: Callable[[list[Any]], bool], *,
                 timeout_s: float = 5.0) -> list[Any] | None:
        deadline = time.monotonic() + timeout_s
        while True:
            if address in self.state and check(self.state[address]):
                return self.state[address]
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.receive(left)

    def wait_error(self, *, timeout_s: float = 5.0) -> str | None:
        deadline = time.monotonic() + timeout_s
        count = len(self.errors)
        while len(self.errors) == count and time.monotonic() < deadline:
            self.receive(deadline - time.monotonic())
        return self.errors[-1] if len(self.errors) > count else None

    def receive(self, timeout_s: float) -> None:
        try:
            message = json.loads(self.ws.recv(timeout=max(timeout_s, 0.001)))
        except TimeoutError:
            return
        self.messages += 1
        if "error" in message:
            self.errors.append(message["error"])
        self.state.update(message.get("state", {}))

    def close(self) -> None:
        self._stack.close()


def http_get(url: str, *, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def near(value: float, tolerance: float = 1e-6) -> Callable[[list[Any]], bool]:
    return lambda args: abs(args[0] - value) <= tolerance
