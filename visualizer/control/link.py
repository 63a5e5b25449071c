"""Ableton Link: share tempo and beat phase with Live, Traktor, phones and other peers on the
network (LinkPython-extern, module ``link``).

- Follow (``--tempo-source link``): :class:`LinkClock` is the show's ExternalTempo; ``/gm/bpm`` and
  taps change the *session's* tempo, for every peer (that is how Link works: no master).
- Lead (``control.link_lead = true`` with another tempo source): :class:`LinkLeader` publishes
  the tempo the show hears to the session, so Live can follow the room's music.

Link discovers peers by multicast on every network interface; it needs no configuration.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

from visualizer.audio.frames import FeatureFrame
from visualizer.control.tempo import MAX_BPM, MIN_BPM, TAP_TIMEOUT_S, tap_period_bpm
from visualizer.core.errors import GansmaniaError

log = logging.getLogger(__name__)

QUANTUM = 4.0  # beats per bar: peers line up their bars, not only their beats


def _open_link(bpm: float):
    try:
        import link
    except ImportError:
        raise GansmaniaError("Ableton Link needs the LinkPython-extern package: pip install "
                             "LinkPython-extern") from None
    session = link.Link(float(bpm))
    session.enabled = True
    return session


class LinkClock:
    """An ExternalTempo joined to a Link session (see the module docstring). Thread-safe: Link's
    session state is captured per call."""

    name = "link"

    def __init__(self, *, bpm: float = 120.0, quantum: float = QUANTUM,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.quantum = quantum
        self._clock = clock
        self._link = _open_link(bpm)
        self._taps: collections.deque[float] = collections.deque(maxlen=8)
        self._lock = threading.Lock()

    @property
    def peers(self) -> int:
        return self._link.numPeers()

    def _micros(self, t_s: float) -> int:
        """time.monotonic() seconds on Link's clock (microseconds). Both clocks are read now, so
        a drift between them never accumulates."""
        return int(self._link.clock().micros() + (t_s - self._clock()) * 1e6)

    def position(self, t_s: float) -> tuple[float, float] | None:
        state = self._link.captureSessionState()
        return state.tempo(), state.beatAtTime(self._micros(t_s), self.quantum)

    def set_bpm(self, bpm: float | None) -> str | None:
        if bpm is None:
            return "Link has no automatic tempo: send a BPM, or tap"
        if not MIN_BPM <= bpm <= MAX_BPM:
            return f"tempo {bpm:g} BPM is out of range {MIN_BPM:g}..{MAX_BPM:g}"
        state = self._link.captureSessionState()
        state.setTempo(float(bpm), self._link.clock().micros())
        self._link.commitSessionState(state)
        log.info("Link session tempo -> %.2f BPM (%d peers)", bpm, self.peers)
        return None

    def tap(self, t_s: float) -> None:
        """Taps set the session's tempo (two or more within TAP_TIMEOUT_S of each other)."""
        with self._lock:
            if self._taps and t_s - self._taps[-1] > TAP_TIMEOUT_S:
                self._taps.clear()
            self._taps.append(t_s)
            bpm = tap_period_bpm(list(self._taps))
        if bpm is not None:
            self.set_bpm(bpm)

    def close(self) -> None:
        self._link.enabled = False


class LinkLeader:
    """``Analyzer.tempo_override`` that leaves frames alone and publishes their tempo to a Link
    session when it is confident and has moved (at most every ``every_s``)."""

    def __init__(self, clock: LinkClock, *, min_confidence: float = 0.5, every_s: float = 1.0,
                 min_change_bpm: float = 0.3) -> None:
        self.clock = clock
        self.min_confidence = min_confidence
        self.every_s = every_s
        self.min_change_bpm = min_change_bpm
        self._next_s = 0.0
        self.published: float | None = None

    def __call__(self, frame: FeatureFrame) -> FeatureFrame:
        if frame.bpm > 0 and frame.bpm_confidence >= self.min_confidence \
                and frame.t_audio >= self._next_s \
                and (self.published is None or abs(frame.bpm - self.published) >= self.min_change_bpm):
            self._next_s = frame.t_audio + self.every_s
            if self.clock.set_bpm(frame.bpm) is None:
                self.published = frame.bpm
        return frame

    def close(self) -> None:
        self.clock.close()
