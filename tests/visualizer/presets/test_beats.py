"""BeatClock and Crossfade: a steady 120 BPM tempo whose beat times are known."""

from __future__ import annotations

import numpy as np
import pytest

from visualizer.presets.beats import LATE_GRACE_BEATS, BeatClock, Crossfade

from .helpers import beat_frame


def test_position_counts_beats_whatever_rate_the_frames_are_read_at():
    rng = np.random.default_rng(0)
    clock = BeatClock()
    t, previous, last_t = 0.0, 0.0, 0.0
    while t < 10.0:
        frame = beat_frame(t)
        for _ in range(int(rng.integers(1, 3))):  # the display may see a frame twice...
            position = clock.update(frame, now_s=t)
            assert position >= previous
            previous = position
        last_t = t
        t += float(rng.uniform(0.005, 0.4))  # ...or skip many hops
    assert clock.position == pytest.approx(2.0 * last_t)  # 120 BPM: two beats a second
    assert clock.tempo_known and clock.bpm == 120.0


def test_phase_jitter_never_runs_the_clock_backwards_nor_adds_beats():
    clock = BeatClock()
    positions = []
    for i in range(400):
        t = i / 100.0
        phase = (2.0 * t + 0.01 * (-1) ** i) % 1.0  # the tracker's phase wobbles around the truth
        positions.append(clock.update(beat_frame(t, beat_phase=phase), now_s=t))
    assert all(b >= a for a, b in zip(positions, positions[1:]))
    assert positions[-1] == pytest.approx(2.0 * 3.99, abs=0.02)


def test_without_tempo_it_runs_at_the_last_tempo_then_snaps_back_to_the_beat():
    clock = BeatClock(fallback_bpm=100.0)
    clock.update(beat_frame(0.0, bpm=0.0), now_s=0.0)
    clock.update(beat_frame(1.2, bpm=0.0), now_s=1.2)
    assert clock.position == pytest.approx(2.0)  # 1.2 s at the fallback 100 BPM
    assert not clock.tempo_known
    clock.update(beat_frame(1.2), now_s=1.2)  # 120 BPM found: phase 0.4 at 1.2 s
    assert clock.position % 1.0 == pytest.approx(0.4)
    clock.update(beat_frame(2.0, bpm=0.0), now_s=2.0)  # lost again: keeps 120 BPM
    assert clock.position == pytest.approx(2.4 + 1.6)


@pytest.mark.parametrize("position, quantize, start", [
    (5.0, "bar", 8.0), (8.0 + LATE_GRACE_BEATS / 2, "bar", 8.0), (8.5, "bar", 12.0),
    (5.3, "beat", 6.0), (5.3, "none", 5.3),
])
def test_next_start_lands_on_the_next_bar_or_beat(position, quantize, start):
    clock = BeatClock()
    t = position / 2.0  # 120 BPM: two beats a second
    clock.update(beat_frame(0.0), now_s=0.0)
    clock.update(beat_frame(t), now_s=t)
    assert clock.position == pytest.approx(position)
    assert clock.next_start(quantize=quantize, beats_per_bar=4) == pytest.approx(start)
    assert clock.bar_phase(4) == pytest.approx((position % 4) / 4)


def test_without_tempo_a_switch_starts_at_once():
    clock = BeatClock()
    clock.update(beat_frame(1.3, bpm=0.0), now_s=1.3)
    assert clock.next_start(quantize="bar", beats_per_bar=4) == clock.position


def test_crossfade_progress():
    fade = Crossfade(start_beat=8.0, beats=4.0)
    assert [fade.progress(p) for p in (7.0, 8.0, 9.0, 12.0, 20.0)] == [0.0, 0.0, 0.25, 1.0, 1.0]
    cut = Crossfade(start_beat=8.0, beats=0.0)
    assert cut.progress(7.99) == 0.0 and cut.progress(8.0) == 1.0
