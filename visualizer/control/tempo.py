"""Tempo sources: where the show's beat clock comes from.

``--tempo-source``:

- ``audio`` (default): the beat tracker listening to the input (tap tempo and ``/gm/bpm``
  correct it);
- ``tap``: only taps (space, ``/gm/tap``) and ``/gm/bpm``: for music the tracker mishears;
- ``midi``: MIDI clock (24 pulses per quarter note) from ``--midi-in``, start/stop/song position;
- ``link``: an Ableton Link session on the network (Live, Traktor, phones...): the show follows
  its tempo and beat phase, and ``/gm/bpm`` or taps change the session's tempo for every peer.

Every source but ``audio`` is an :class:`ExternalTempo`; :class:`TempoOverride` rewrites each
FeatureFrame's tempo, beat phase and beat flag from it on the analysis thread
(``Analyzer.tempo_override``), so the latent walk, the shaders and preset fades all follow it
with no other change. While a clock knows no tempo yet (no MIDI clock arriving, a Link session
alone...), frames keep the audio tracker's values.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import statistics
import threading
import time
from collections.abc import Callable
from typing import Protocol

from visualizer.audio.frames import FeatureFrame

TEMPO_SOURCES = ("audio", "tap", "midi", "link")
TAP_TIMEOUT_S = 2.0  # a longer gap between taps starts a new tap sequence
MIN_BPM, MAX_BPM = 20.0, 400.0


class ExternalTempo(Protocol):
    """A tempo and beat position that is not the audio tracker's."""

    name: str

    def position(self, t_s: float) -> tuple[float, float] | None:
        """(bpm, beats) at time.monotonic() ``t_s``; beats count from the clock's origin, so
        ``beats % 1`` is the beat phase. None while the clock knows no tempo."""

    def set_bpm(self, bpm: float | None) -> str | None:
        """Change the tempo (keeping the phase); a one-line problem when this clock cannot."""

    def tap(self, t_s: float) -> None:
        """A tap at time.monotonic() ``t_s``."""

    def close(self) -> None: ...


class TempoOverride:
    """``Analyzer.tempo_override``: a frame with the clock's tempo, phase and beat flag."""

    def __init__(self, clock: ExternalTempo) -> None:
        self.clock = clock
        self._last_beats: float | None = None

    def __call__(self, frame: FeatureFrame) -> FeatureFrame:
        position = self.clock.position(frame.t_audio)
        if position is None:
            self._last_beats = None
            return frame  # the audio tracker's tempo until the clock knows one
        bpm, beats = position
        phase = beats % 1.0
        last, self._last_beats = self._last_beats, beats
        beat = last is not None and math.floor(beats) > math.floor(last)
        return dataclasses.replace(frame, bpm=bpm, bpm_confidence=1.0, beat_phase=phase, beat=beat,
                                   next_beat_t=frame.t_audio + (1.0 - phase) * 60.0 / bpm)


class TapClock:
    """Tempo and phase from taps alone: two or more taps (each a beat) set the period to their
    median interval and put a beat on the last tap; ``set_bpm`` changes the period, keeping the
    phase. Thread-safe: taps arrive from OSC/MIDI threads, positions are read by the analysis."""

    name = "tap"

    def __init__(self, *, bpm: float | None = None, timeout_s: float = TAP_TIMEOUT_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout_s = timeout_s
        self._clock = clock
        self._taps: collections.deque[float] = collections.deque(maxlen=8)
        self._lock = threading.Lock()
        # (period s, time of a beat, beat count there): replaced whole, read without the lock.
        self._state: tuple[float, float, float] | None = None
        if bpm is not None:
            self.set_bpm(bpm)

    def position(self, t_s: float) -> tuple[float, float] | None:
        state = self._state
        if state is None:
            return None
        period, anchor_s, anchor_beats = state
        return 60.0 / period, anchor_beats + (t_s - anchor_s) / period

    def tap(self, t_s: float | None = None) -> None:
        t = self._clock() if t_s is None else t_s
        with self._lock:
            if self._taps and t - self._taps[-1] > self.timeout_s:
                self._taps.clear()
            self._taps.append(t)
            if len(self._taps) < 2:
                return
            intervals = [b - a for a, b in zip(self._taps, list(self._taps)[1:])]
            period = statistics.median(intervals)
            if not 60.0 / MAX_BPM <= period <= 60.0 / MIN_BPM:
                return
            known = self.position(t)
            beats = float(round(known[1])) if known else 0.0  # the tap lands on a whole beat
            self._state = (period, t, beats)

    def set_bpm(self, bpm: float | None) -> str | None:
        if bpm is None:
            return "tap tempo has no automatic tempo: tap, or send a BPM"
        if not MIN_BPM <= bpm <= MAX_BPM:
            return f"tempo {bpm:g} BPM is out of range {MIN_BPM:g}..{MAX_BPM:g}"
        with self._lock:
            now = self._clock()
            known = self.position(now)
            self._state = (60.0 / bpm, now, known[1] if known else 0.0)
        return None

    def close(self) -> None:
        pass


def tap_period_bpm(taps: list[float]) -> float | None:
    """The tempo (BPM) of a tap sequence (time.monotonic() s), None with fewer than two taps or
    an interval outside 20..400 BPM. Shared by the clocks that take taps."""
    if len(taps) < 2:
        return None
    period = statistics.median(b - a for a, b in zip(taps, taps[1:]))
    return 60.0 / period if 60.0 / MAX_BPM <= period <= 60.0 / MIN_BPM else None
