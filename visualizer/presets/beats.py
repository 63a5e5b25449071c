"""Musical time for preset switching: a continuous beat position, and cross-fades measured in beats.

The audio engine reports the phase inside the current beat, not a beat count, and the display
reads only the newest FeatureFrame (it may skip many hops or see one twice). :class:`BeatClock`
integrates the phase into a position in beats that never runs backwards; while no tempo is known
it keeps counting at the last tempo (or ``fallback_bpm``) so a fade always finishes.

Bars are counted from the first beat the clock saw: the engine detects beats, not downbeats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from visualizer.audio.frames import FeatureFrame

QUANTIZE = ("bar", "beat", "none")
# A press this many beats after a boundary still starts on it: a VJ hitting the key on the "one"
# is always a little late, and waiting a whole bar for that would feel broken.
LATE_GRACE_BEATS = 0.125


class BeatClock:
    """Position in beats since the show started, fed once per display frame."""

    def __init__(self, *, fallback_bpm: float = 120.0) -> None:
        if fallback_bpm <= 0:
            raise ValueError(f"fallback_bpm must be > 0, got {fallback_bpm}")
        self.fallback_bpm = fallback_bpm
        self.bpm = fallback_bpm  # the tempo the clock runs at now (the last known one)
        self.tempo_known = False  # does the newest frame carry a tempo?
        self._raw = 0.0  # follows the frames' phase exactly (may jitter backwards a hair)
        self._position = 0.0  # max of _raw so far: what callers see
        self._phase = 0.0
        self._now_s: float | None = None

    @property
    def position(self) -> float:
        return self._position

    def bar_phase(self, beats_per_bar: int) -> float:
        """0..1 through the current bar of ``beats_per_bar`` beats."""
        return (self._position % beats_per_bar) / beats_per_bar

    def update(self, frame: FeatureFrame | None, *, now_s: float) -> float:
        """Advance to ``now_s`` (time.monotonic() s) with the newest ``frame``; the new position."""
        known = frame is not None and frame.bpm > 0.0
        dt = 0.0 if self._now_s is None else max(now_s - self._now_s, 0.0)
        if known:
            assert frame is not None
            self.bpm = frame.bpm
            expected = dt * self.bpm / 60.0
            if self._now_s is None:
                self._raw = frame.beat_phase
            elif self.tempo_known:
                # Whole beats come from elapsed time, the fraction from the phase: a skipped or
                # repeated frame then neither loses nor invents a beat.
                fraction = (frame.beat_phase - self._phase) % 1.0
                self._raw += fraction + round(expected - fraction)
            else:
                # Tempo found (again): run on at the tempo, then snap to the nearer beat grid.
                self._raw += expected
                self._raw += (frame.beat_phase - self._raw + 0.5) % 1.0 - 0.5
            self._phase = frame.beat_phase
        else:
            self._raw += dt * self.bpm / 60.0
        self.tempo_known = known
        self._now_s = now_s
        self._position = max(self._position, self._raw)
        return self._position

    def next_start(self, *, quantize: str, beats_per_bar: int) -> float:
        """Where a switch asked for now starts: the next bar or beat, or now.

        Without a tempo there is no grid to land on, so it starts now.
        """
        if quantize not in QUANTIZE:
            raise ValueError(f"quantize must be one of {QUANTIZE}, got {quantize!r}")
        if quantize == "none" or not self.tempo_known:
            return self._position
        unit = beats_per_bar if quantize == "bar" else 1
        boundary = math.floor(self._position / unit) * unit
        if self._position - boundary <= LATE_GRACE_BEATS:
            return boundary
        return boundary + unit


@dataclass(frozen=True)
class Crossfade:
    """A fade from ``start_beat`` lasting ``beats`` (0 = a cut on ``start_beat``)."""

    start_beat: float
    beats: float

    def progress(self, position: float) -> float:
        """0 before the start, rising to 1 at the end (beat position ``position``)."""
        if position < self.start_beat:
            return 0.0
        if self.beats <= 0.0:
            return 1.0
        return min((position - self.start_beat) / self.beats, 1.0)
