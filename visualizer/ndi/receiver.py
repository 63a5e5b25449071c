"""NDI in: a source on the LAN (a camera, another VJ's output) as the newest RGBA frame.

`NdiReceiver` runs one thread: it looks for the source whose name contains a text, connects,
and keeps the newest video frame in a latest-value slot; the render thread only reads the slot,
so a slow, stalled or vanished source never holds a display frame up. When the source goes
away the slot is set to None (the show mixes nothing in: see `visualizer.ndi.live_input`) and
``on_problem`` is told once; when it comes back, frames flow again. NDI's receiver reconnects
to a source of the same name by itself; a source that comes back somewhere else (another port
or machine) is found again through discovery.

States, as ``status``: "searching" (no matching source seen yet), "connected" (connected, no
frame yet), "receiving", "lost" (connected once, now no connection and no frames).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from visualizer.core.slot import LatestSlot
from visualizer.ndi.runtime import NdiUnavailable, load_ndi

log = logging.getLogger(__name__)

RECEIVER_NAME = "GANsmania"  # how this receiver shows up in NDI tools
POLL_S = 0.1  # longest wait in one NDI call: how soon close() is noticed
LOST_S = 1.0  # no connection and no frame for this long: the source is gone
NOT_FOUND_S = 5.0  # no matching source this long after start: say so (and keep looking)
REFIND_S = 1.0  # while lost: how often discovery is asked whether the source is back


@dataclass(frozen=True)
class NdiFrame:
    """One received video frame."""

    pixels: np.ndarray  # RGBA uint8 (H, W, 4), top row first; alpha 255 for a source without
    received_s: float  # time.monotonic() when it arrived
    source: str  # the NDI name it came from, "MACHINE (NAME)"


def pick_source(names: Sequence[str], wanted: str) -> str | None:
    """The name in ``names`` that ``wanted`` means: the same full name, else the same NAME of
    "MACHINE (NAME)", else the first (sorted) that contains it, case ignored; None if none."""
    key = wanted.strip().casefold()
    ordered = sorted(names)
    for same in (lambda n: n.casefold() == key, lambda n: _stream_name(n).casefold() == key,
                 lambda n: key in n.casefold()):
        found = next((name for name in ordered if same(name)), None)
        if found is not None:
            return found
    return None


def _stream_name(name: str) -> str:
    """NAME of "MACHINE (NAME)" (the whole name when it has no parentheses)."""
    start = name.find(" (")
    return name[start + 2:-1] if start >= 0 and name.endswith(")") else name


class NdiReceiver:
    """Receives the NDI source whose name contains ``source``; see the module docstring.

    ``on_problem(message)``: one line when the source is not found, goes away, or sends what we
    cannot show, once per occurrence; called on the receiver's thread. Raises NdiUnavailable
    (the install hint) when the NDI runtime is missing, before any thread starts.
    """

    def __init__(self, source: str, *, on_problem: Callable[[str], None],
                 clock: Callable[[], float] = time.monotonic, lost_s: float = LOST_S,
                 not_found_s: float = NOT_FOUND_S) -> None:
        if not source.strip():
            raise ValueError("an NDI source name (or part of it) is needed")
        self.wanted = source.strip()
        self.latest: LatestSlot[NdiFrame] = LatestSlot()  # None again while the source is gone
        self.status = "searching"
        self.source_name: str | None = None  # the full name of the source connected to
        self.frames = 0  # video frames received
        self.losses = 0  # times the source went away
        self._ndi = load_ndi()
        self._on_problem = on_problem
        self._clock = clock
        self._lost_s, self._not_found_s = lost_s, not_found_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported: set[str] = set()  # problems said once until the state changes
        self._connected_to: tuple[str, str] | None = None  # (name, address) asked for last
        self._last_seen_s = 0.0  # the last frame, or the last moment a connection was up
        self._refind_s = 0.0  # the last time discovery was asked, while lost

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ndi-in", daemon=True)
            self._thread.start()

    def close(self, *, timeout_s: float = 2.0) -> None:
        """Stop receiving and free the NDI objects (waits for the thread, up to ``timeout_s``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            if self._thread.is_alive():
                log.warning("NDI in: the receiver thread did not stop within %.1f s", timeout_s)
            self._thread = None

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        ndi = self._ndi
        finder = ndi.find_create_v2()
        if finder is None:
            self._problem("no-finder", "NDI in: NDI could not start looking for sources")
            return
        receiver = None
        try:
            started = self._clock()
            while not self._stop.is_set():
                if receiver is None:
                    found = self._find(finder, wait_ms=int(POLL_S * 1000))
                    if found is not None:
                        receiver = self._connect(found)
                    elif self._clock() - started > self._not_found_s:
                        seen = ", ".join(sorted(s.ndi_name for s in ndi.find_get_current_sources(finder)))
                        self._problem("not-found", f"NDI in: no source named like {self.wanted!r} "
                                                   f"(seen: {seen or 'none'}); still looking")
                else:
                    self._receive(receiver, finder)
        except Exception as exc:  # a bug or a runtime failure: said once, the show goes on
            log.exception("NDI in: the receiver stopped")
            self._problem("failed", f"NDI in stopped: {type(exc).__name__}: {exc}")
            self.latest.put(None)
        finally:
            if receiver is not None:
                ndi.recv_destroy(receiver)
            ndi.find_destroy(finder)

    def _find(self, finder: Any, *, wait_ms: int) -> Any:
        """The discovered source ``wanted`` means (an NDIlib.Source), or None."""
        ndi = self._ndi
        ndi.find_wait_for_sources(finder, wait_ms)
        sources = {source.ndi_name: source for source in ndi.find_get_current_sources(finder)}
        name = pick_source(list(sources), self.wanted)
        return None if name is None else sources[name]

    def _connect(self, source: Any) -> Any:
        ndi = self._ndi
        receiver = ndi.recv_create_v3(ndi.RecvCreateV3(
            color_format=ndi.RECV_COLOR_FORMAT_RGBX_RGBA, bandwidth=ndi.RECV_BANDWIDTH_HIGHEST,
            allow_video_fields=False, p_ndi_recv_name=RECEIVER_NAME))
        if receiver is None:
            raise NdiUnavailable("NDI could not create a receiver")
        ndi.recv_connect(receiver, source)
        self._connected_to = (source.ndi_name, source.url_address)
        self.source_name = source.ndi_name
        self.status = "connected"
        self._last_seen_s = self._clock()  # frames, or a live connection
        self._refind_s = 0.0
        log.info("NDI in: connecting to %s (%s)", source.ndi_name, source.url_address)
        return receiver

    def _receive(self, receiver: Any, finder: Any) -> None:
        ndi = self._ndi
        kind, video, _, _ = ndi.recv_capture_v2(receiver, int(POLL_S * 1000), want_audio=False,
                                                want_metadata=False)
        now = self._clock()
        if kind == ndi.FRAME_TYPE_VIDEO:
            try:
                pixels = self._pixels(video)
            finally:
                ndi.recv_free_video_v2(receiver, video)
            if pixels is None:
                return
            self.latest.put(NdiFrame(pixels, now, self.source_name or self.wanted))
            self.frames += 1
            self._last_seen_s = now
            if self.status != "receiving":
                log.info("NDI in: receiving %s, %dx%d", self.source_name, pixels.shape[1],
                         pixels.shape[0])
                self.status = "receiving"
                self._reported.clear()
            return
        if ndi.recv_get_no_connections(receiver) > 0:
            self._last_seen_s = now  # connected: a source may send nothing for a while (a still)
            return
        if self.status != "lost" and now - self._last_seen_s > self._lost_s:
            self.status = "lost"
            self.losses += 1
            self.latest.put(None)
            self._problem("lost", f"NDI in: {self.source_name} is gone; the show goes on without "
                                  "it and takes it back when it returns")
        if self.status == "lost" and now - self._refind_s > REFIND_S:
            self._refind_s = now
            found = self._find(finder, wait_ms=0)
            # The same name at the same address: NDI reconnects by itself. Elsewhere: follow it.
            if found is not None and (found.ndi_name, found.url_address) != self._connected_to:
                log.info("NDI in: %s now at %s; reconnecting", found.ndi_name, found.url_address)
                ndi.recv_connect(receiver, found)
                self._connected_to = (found.ndi_name, found.url_address)
                self.source_name = found.ndi_name

    def _pixels(self, video: Any) -> np.ndarray | None:
        """The frame as RGBA uint8 (H, W, 4) of our own, or None (said once) for another format."""
        ndi = self._ndi
        fourcc = video.FourCC
        if fourcc not in (ndi.FOURCC_VIDEO_TYPE_RGBA, ndi.FOURCC_VIDEO_TYPE_RGBX):
            self._problem("format", f"NDI in: {self.source_name} sends {fourcc}, not RGBA; "
                                    "its frames are skipped")
            return None
        pixels = np.array(video.data, dtype=np.uint8, copy=True)  # NDI reuses its buffer
        if pixels.ndim != 3 or pixels.shape[2] != 4:
            self._problem("format", f"NDI in: {self.source_name} sent a frame of shape "
                                    f"{pixels.shape}; its frames are skipped")
            return None
        if fourcc == ndi.FOURCC_VIDEO_TYPE_RGBX:
            pixels[..., 3] = 255  # X is padding, not coverage: the source is opaque
        return pixels

    def _problem(self, key: str, message: str) -> None:
        if key in self._reported:
            return
        self._reported.add(key)
        log.warning("%s", message)
        try:
            self._on_problem(message)
        except Exception:  # the app's handler must not end the receiver
            log.exception("NDI in: reporting a problem failed")

    def stats(self) -> dict[str, Any]:
        """For --stats: what was asked for, what was found, frames received, losses."""
        return {"wanted": self.wanted, "source": self.source_name, "status": self.status,
                "frames_received": self.frames, "losses": self.losses}
