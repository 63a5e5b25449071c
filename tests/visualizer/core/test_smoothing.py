"""AttackRelease: the time constants mean what they say, for scalars and vectors."""

import math

import numpy as np
import pytest

from visualizer.core.smoothing import AttackRelease, one_pole_coefficient


def steps_to_reach(smoother: AttackRelease, target: float, fraction: float) -> int:
    start = float(smoother.value)
    for n in range(1, 100_000):
        value = smoother.step(target)
        if abs(value - start) >= fraction * abs(target - start):
            return n
    raise AssertionError("never reached")


def test_rise_takes_the_attack_time_and_fall_the_release_time():
    dt = 0.001
    smoother = AttackRelease(attack_s=0.01, release_s=0.1, dt_s=dt)
    rise = steps_to_reach(smoother, 1.0, 1 - 1 / math.e)
    assert rise == pytest.approx(10, abs=1)  # 10 ms / 1 ms
    for _ in range(1000):
        smoother.step(1.0)
    fall = steps_to_reach(smoother, 0.0, 1 - 1 / math.e)
    assert fall == pytest.approx(100, abs=2)


def test_zero_time_follows_instantly():
    assert one_pole_coefficient(time_s=0.0, dt_s=0.01) == 1.0
    smoother = AttackRelease(attack_s=0.0, release_s=0.5, dt_s=0.01)
    assert smoother.step(3.0) == 3.0


@pytest.mark.parametrize("attack_s, release_s", [(0.01, 0.2), (0.2, 0.01)])
def test_vector_matches_scalar_entry_by_entry(attack_s, release_s):
    vector = AttackRelease(attack_s=attack_s, release_s=release_s, dt_s=0.005, size=3)
    scalars = [AttackRelease(attack_s=attack_s, release_s=release_s, dt_s=0.005)
               for _ in range(3)]
    rng = np.random.default_rng(0)
    for _ in range(200):
        x = rng.random(3)
        out = vector.step(x)
        np.testing.assert_allclose(out, [s.step(v) for s, v in zip(scalars, x)], rtol=1e-12)


def test_bad_times_are_refused():
    with pytest.raises(ValueError):
        AttackRelease(attack_s=-1, release_s=0.1, dt_s=0.01)
    with pytest.raises(ValueError):
        AttackRelease(attack_s=0.1, release_s=0.1, dt_s=0.0)
