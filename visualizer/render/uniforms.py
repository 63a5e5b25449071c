"""The per-frame values every shader pass sees: the standard audio uniforms."""

from __future__ import annotations

import math
from dataclasses import dataclass

_SILENT_CHROMA = (0.0,) * 12
# Pitch class k sits at angle 2*pi*k/12 on the chroma circle (C at 0, E at 120 degrees).
_CIRCLE = tuple((math.cos(2 * math.pi * k / 12), math.sin(2 * math.pi * k / 12)) for k in range(12))


@dataclass(frozen=True)
class AudioUniforms:
    """What the live loop hands the renderer each display frame (all 0..1 unless stated)."""

    time_s: float = 0.0  # show time, seconds (u_time)
    beat_phase: float = 0.0  # position in the current beat (u_beat_phase)
    # 1 while a tempo is known, else 0 (u_tempo). Without a tempo beat_phase stays at 0, which a
    # beat-locked pass would read as "on the beat" for as long as it lasts: a strobe stuck lit.
    tempo: float = 0.0
    onset: float = 0.0  # onset envelope: 1 at an onset, decaying (u_onset)
    level: float = 0.0  # loudness (u_level)
    bass: float = 0.0  # band energies (u_bass, u_mid, u_high)
    mid: float = 0.0
    high: float = 0.0
    chroma: tuple[float, ...] = _SILENT_CHROMA  # 12 pitch-class weights, C first (u_chroma)
    capture_s: float | None = None  # time.monotonic() capture time of the audio behind these (t_audio)

    def __post_init__(self) -> None:
        if len(self.chroma) != 12:
            raise ValueError(f"chroma needs 12 values (one per pitch class), got {len(self.chroma)}")

    def harmony(self) -> tuple[float, float]:
        """The chroma vector on the pitch-class circle (u_harmony): its angle says which pitch
        class dominates, its length how clearly. Computed once per frame, not once per pixel."""
        x = sum(weight * c for weight, (c, _) in zip(self.chroma, _CIRCLE))
        y = sum(weight * s for weight, (_, s) in zip(self.chroma, _CIRCLE))
        return (x, y)

    def scalars(self) -> dict[str, float]:
        """Uniform name -> value for every float standard uniform."""
        return {"u_time": self.time_s, "u_beat_phase": self.beat_phase, "u_tempo": self.tempo,
                "u_onset": self.onset,
                "u_level": self.level, "u_bass": self.bass, "u_mid": self.mid, "u_high": self.high}
