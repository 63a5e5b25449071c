"""Preset test helpers: where the fixtures are, and feature frames whose answer is known."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from visualizer.audio.frames import FeatureFrame, silent_frame

REPO = Path(__file__).resolve().parents[3]
PRESETS = REPO / "presets"
SHADERS = REPO / "shaders"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE_SHADERS = FIXTURES / "shaders"


def beat_frame(t_s: float, *, bpm: float = 120.0, **changes) -> FeatureFrame:
    """The frame at ``t_s`` of a steady tempo whose beats fall on multiples of 60/bpm s.

    ``bpm`` 0 gives a frame without a tempo; ``changes`` override any other field.
    """
    period = 60.0 / bpm if bpm else 0.0
    phase = (t_s / period) % 1.0 if bpm else 0.0
    frame = silent_frame(t_audio=t_s, hop_index=int(t_s * 1000), bpm=bpm, beat_phase=phase,
                         next_beat_t=t_s + (1.0 - phase) * period if bpm else 0.0)
    return dataclasses.replace(frame, **changes)
