"""The audio features a shader parameter may follow: ``zoom = { from = "bass", range = [1, 1.15] }``.

Every feature is a number in 0..1 computed once per display frame from the newest FeatureFrame
(and the beat clock, for the bar), so a binding is one multiply-add per parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from visualizer.audio.frames import FeatureFrame

_TWO_PI = 2.0 * math.pi
# Pitch class k sits at angle 2*pi*k/12 on the chroma circle, as in the u_harmony uniform.
_CIRCLE = tuple((math.cos(_TWO_PI * k / 12), math.sin(_TWO_PI * k / 12)) for k in range(12))


def _beat_pulse(frame: FeatureFrame) -> float:
    # 1 on the beat, easing to 0 by the next; nothing while the tempo is unknown.
    return (1.0 - frame.beat_phase) ** 2 if frame.bpm > 0.0 else 0.0


def _pitch(frame: FeatureFrame) -> float:
    x = sum(w * c for w, (c, _) in zip(frame.chroma, _CIRCLE))
    y = sum(w * s for w, (_, s) in zip(frame.chroma, _CIRCLE))
    if x == 0.0 and y == 0.0:
        return 0.0
    return (math.atan2(y, x) / _TWO_PI) % 1.0


# name -> (what it is, how to read it from (frame, bar phase 0..1)).
FEATURES: dict[str, tuple[str, Callable[[FeatureFrame, float], float]]] = {
    "level": ("loudness, auto-gained", lambda f, bar: f.level),
    "bass": ("20-250 Hz energy this hop (jumpy)", lambda f, bar: f.bass),
    "mid": ("250-4000 Hz energy this hop", lambda f, bar: f.mid),
    "high": ("4-16 kHz energy this hop", lambda f, bar: f.high),
    "bass_smooth": ("bass through attack/release smoothing", lambda f, bar: f.bass_smooth),
    "mid_smooth": ("mid through attack/release smoothing", lambda f, bar: f.mid_smooth),
    "high_smooth": ("high through attack/release smoothing", lambda f, bar: f.high_smooth),
    "flux": ("spectral flux: how fast the sound changes", lambda f, bar: f.flux),
    "onset": ("onset envelope: 1 at an onset, decaying over ~0.2 s", lambda f, bar: f.onset_envelope),
    "low_hit": ("hit below ~150 Hz (kick): 1 at the hit, decaying over ~0.2 s",
                lambda f, bar: f.low_hit_envelope),
    "mid_hit": ("hit at ~150 Hz-5 kHz (snare, clap, stab): 1, decaying over ~0.15 s",
                lambda f, bar: f.mid_hit_envelope),
    "high_hit": ("hit above ~5 kHz (hats, shaker): 1 at the hit, decaying over ~0.08 s",
                 lambda f, bar: f.high_hit_envelope),
    "beat": ("1 on each beat, easing to 0 by the next (0 without a tempo)",
             lambda f, bar: _beat_pulse(f)),
    "beat_phase": ("0..1 through the current beat (0 without a tempo)",
                   lambda f, bar: f.beat_phase if f.bpm > 0.0 else 0.0),
    "bar_phase": ("0..1 through the current bar (bars counted from the first beat heard)",
                  lambda f, bar: bar),
    "pitch": ("dominant pitch class as 0..1 round the circle (C = 0, E = 1/3)",
              lambda f, bar: _pitch(f)),
}


# Positions, not amounts: a gain (reactivity) must not shrink them.
PHASES = frozenset({"beat_phase", "bar_phase", "pitch"})


def feature_values(frame: FeatureFrame | None, *, bar_phase: float = 0.0,
                   gain: float = 1.0) -> dict[str, float]:
    """Every feature's value for ``frame`` (all 0 before the first frame), clamped to 0..1;
    ``gain`` multiplies the amounts (every feature but :data:`PHASES`) first."""
    if frame is None:
        return dict.fromkeys(FEATURES, 0.0)
    return {name: min(max(float(read(frame, bar_phase)) * (1.0 if name in PHASES else gain), 0.0), 1.0)
            for name, (_, read) in FEATURES.items()}
