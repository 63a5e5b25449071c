"""Attack/release smoothing: a one-pole follower that rises and falls at different speeds.

Visuals want a kick to hit at once (short attack) and fade gracefully (long release). Works on
a float or in place on a numpy vector (chroma, bands) without allocating per step.
"""

from __future__ import annotations

import math

import numpy as np


def one_pole_coefficient(*, time_s: float, dt_s: float) -> float:
    """Per-step blend factor that covers 1 - 1/e of a step in ``time_s`` (1 when time_s <= 0)."""
    if time_s <= 0.0:
        return 1.0
    return 1.0 - math.exp(-dt_s / time_s)


class AttackRelease:
    """Follows its input with time constant ``attack_s`` going up and ``release_s`` going down.

    ``size`` None smooths a scalar (`step` returns a float); an int smooths a vector of that
    length in place (`step` returns the internal state array, do not keep it across steps).
    """

    def __init__(self, *, attack_s: float, release_s: float, dt_s: float,
                 size: int | None = None) -> None:
        if attack_s < 0 or release_s < 0 or dt_s <= 0:
            raise ValueError(f"need attack_s, release_s >= 0 and dt_s > 0, got "
                             f"{attack_s}, {release_s}, {dt_s}")
        self.attack = one_pole_coefficient(time_s=attack_s, dt_s=dt_s)
        self.release = one_pole_coefficient(time_s=release_s, dt_s=dt_s)
        self._scalar = 0.0
        self._state = None if size is None else np.zeros(size, dtype=np.float64)
        if size is not None:
            self._delta = np.zeros(size, dtype=np.float64)
            self._up = np.zeros(size, dtype=np.float64)
            self._down = np.zeros(size, dtype=np.float64)

    @property
    def value(self) -> float | np.ndarray:
        return self._scalar if self._state is None else self._state

    def reset(self, value: float = 0.0) -> None:
        if self._state is None:
            self._scalar = float(value)
        else:
            self._state.fill(value)

    def step(self, x: float | np.ndarray) -> float | np.ndarray:
        """Advance one step towards ``x``; returns the smoothed value."""
        if self._state is None:
            delta = float(x) - self._scalar
            self._scalar += delta * (self.attack if delta > 0.0 else self.release)
            return self._scalar
        # Rising entries take the attack factor and falling ones the release factor; with the
        # larger factor on the side that needs it, one max (or min) picks it for every entry.
        np.subtract(x, self._state, out=self._delta)
        np.multiply(self._delta, self.attack, out=self._up)
        np.multiply(self._delta, self.release, out=self._down)
        pick = np.maximum if self.attack >= self.release else np.minimum
        pick(self._up, self._down, out=self._up)
        self._state += self._up
        return self._state
