"""Feature streams whose answer is known (a metronome at a tempo, a held chord) and a small
latent space whose keyframes are known vectors, for controller tests without audio or a model."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from visualizer.audio.frames import N_CHROMA, FeatureFrame

HOP_S = 256 / 48000  # the analysis hop of the live default (about 5.3 ms)


def metronome(*, bpm: float, duration_s: float, phase0: float = 0.0, level: float = 0.5,
              bass: float = 0.0, high: float = 0.0, chroma: Sequence[float] = (0.0,) * N_CHROMA,
              onsets: bool = True, tempo_known: bool = True,
              onset_decay_s: float = 0.2) -> list[FeatureFrame]:
    """One FeatureFrame per hop of a click on every beat: the beat phase runs at ``bpm`` from
    ``phase0``, an onset (a low hit, as a kick, and the beat flag) falls where the phase wraps;
    the rest is held constant."""
    frames = []
    envelope = 0.0
    decay = math.exp(-HOP_S / onset_decay_s)
    previous = phase0
    for i in range(int(duration_s / HOP_S)):
        t = (i + 1) * HOP_S
        phase = (phase0 + t * bpm / 60.0) % 1.0
        beat = i > 0 and phase < previous
        previous = phase
        onset = onsets and beat
        envelope = 1.0 if onset else envelope * decay
        frames.append(FeatureFrame(
            t_audio=t, hop_index=i, rms_db=-20.0, level=level, bass=bass, mid=0.0, high=high,
            bass_smooth=bass, mid_smooth=0.0, high_smooth=high, flux=0.0, onset=onset,
            onset_envelope=envelope, beat=beat and tempo_known,
            bpm=bpm if tempo_known else 0.0, bpm_confidence=1.0 if tempo_known else 0.0,
            beat_phase=phase if tempo_known else 0.0, next_beat_t=0.0, chroma=tuple(chroma),
            low_hit=onset, mid_hit=False, high_hit=False, low_hit_envelope=envelope,
            mid_hit_envelope=0.0, high_hit_envelope=0.0))
    return frames


def pulled(frames: Sequence[FeatureFrame], *, every: int) -> Iterator[tuple[FeatureFrame, float]]:
    """(newest frame, dt_s) as the generator worker pulls them: every ``every``-th hop."""
    for i in range(every - 1, len(frames), every):
        yield frames[i], every * HOP_S


def chord_chroma(*pitch_classes: int) -> tuple[float, ...]:
    return tuple(1.0 if k in pitch_classes else 0.0 for k in range(N_CHROMA))


class TableSpace:
    """A latent space of known vectors: seed s -> a seeded Gaussian w (same on every layer),
    z -> a fixed linear map. Implements visualizer.mapping.latent.LatentSpace."""

    def __init__(self, *, z_dim: int = 16, w_dim: int = 16, num_ws: int = 10) -> None:
        self.z_dim, self.w_dim, self.num_ws = z_dim, w_dim, num_ws
        self.w_avg = np.full(w_dim, 0.25, dtype=np.float32)
        self._matrix = np.random.default_rng(99).standard_normal((z_dim, w_dim)).astype(np.float32)

    def w_of(self, seed: int) -> np.ndarray:
        return np.random.default_rng(seed).standard_normal(self.w_dim).astype(np.float32)

    def ws_of_seeds(self, seeds: Sequence[int]) -> np.ndarray:
        rows = np.stack([self.w_of(int(s)) for s in seeds])
        return np.repeat(rows[:, None, :], self.num_ws, axis=1)

    def ws_of_z(self, z: np.ndarray) -> np.ndarray:
        w = np.asarray(z, dtype=np.float32) @ self._matrix
        return np.repeat(w[:, None, :], self.num_ws, axis=1)
