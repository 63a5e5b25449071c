"""FxController: shader uniforms at display rate from the same features as the latents."""

from __future__ import annotations

import dataclasses
import math

import pytest

from tests.visualizer.control.streams import HOP_S, chord_chroma, metronome
from visualizer.core.config import from_dict
from visualizer.mapping.fx import FxController
from visualizer.mapping.settings import ControllerSettings


def test_onsets_counted_once_and_u_onset_decays_with_the_release_time():
    fx = FxController()
    s = from_dict(ControllerSettings, {"fx": {"onset_release_s": 0.1}})
    frames = metronome(bpm=120, duration_s=2.2)  # onsets at 0.5, 1.0, 1.5, 2.0 s
    onset_values = {}
    # A 60 Hz display reads the newest frame: every ~3rd hop, some twice (a slow analysis).
    for n in range(int(2.2 * 60)):
        frame = frames[min(int(n / 60 / HOP_S), len(frames) - 1)]
        u = fx.step(frame, s, 1 / 60, time_s=n / 60)
        onset_values[n] = u.onset
        assert u.capture_s == frame.t_audio and u.time_s == n / 60
    assert fx.onsets == 4
    first = next(n for n, v in onset_values.items() if v == 1.0)
    assert onset_values[first + 6] == pytest.approx(math.exp(-6 / 60 / 0.1), rel=1e-6)


def test_bands_follow_with_attack_release_and_gain_scales_everything():
    frames = metronome(bpm=120, duration_s=1.0, level=0.8, bass=0.6, high=0.3, onsets=False,
                       chroma=chord_chroma(9, 1, 4))
    settled = FxController()
    s = ControllerSettings()
    for frame in frames:
        u = settled.step(frame, s, HOP_S, time_s=frame.t_audio)
    assert (u.level, u.bass, u.high) == pytest.approx((0.8, 0.6, 0.3), abs=1e-3)
    # chroma_smooth_s 0.2: five time constants in, 1 - e^-5 of the way
    assert u.chroma[9] == pytest.approx(1 - math.exp(-len(frames) * HOP_S / 0.2), abs=1e-3)
    assert u.chroma[0] == 0.0
    assert u.beat_phase == frames[-1].beat_phase and u.tempo == 1.0
    no_tempo = dataclasses.replace(frames[-1], bpm=0.0, beat_phase=0.0)
    assert FxController().step(no_tempo, s, HOP_S, time_s=0.0).tempo == 0.0
    loud = from_dict(ControllerSettings, {"fx": {"gain": 2.0}})
    doubled = FxController()
    for frame in frames:
        v = doubled.step(frame, loud, HOP_S, time_s=frame.t_audio)
    assert (v.bass, v.high, v.level) == pytest.approx((1.0, 0.6, 1.0), abs=1e-3)  # clipped at 1
    off = from_dict(ControllerSettings, {"reactivity": 0.0})
    assert FxController().step(frames[-1], off, HOP_S, time_s=0.0).bass == 0.0


def test_no_audio_gives_neutral_uniforms():
    u = FxController().step(None, ControllerSettings(), 1 / 60, time_s=3.0)
    assert u.time_s == 3.0 and u.onset == 0.0 and u.level == 0.0 and u.capture_s is None


def test_the_beat_phase_is_predicted_for_when_the_frame_is_seen():
    """A frame's audio is old by the time its picture is seen: given that time, u_beat_phase
    runs the tracker's predicted beat forward to it, so a beat flash lands on the beat."""
    s = ControllerSettings()
    # 120 BPM: beats at 0.5, 1.0, 1.5 s; the newest hop ends at 0.96 s, predicting 1.0 s.
    frame = dataclasses.replace(metronome(bpm=120, duration_s=1.0)[-1], t_audio=0.96,
                                beat_phase=0.92, next_beat_t=1.0)
    assert FxController().step(frame, s, HOP_S, time_s=0.0).beat_phase == 0.92  # no time: as is
    seen = {at: FxController().step(frame, s, HOP_S, time_s=0.0, at_s=at).beat_phase
            for at in (0.96, 0.99, 1.0, 1.05, 1.6)}
    assert seen[0.96] == pytest.approx(0.92)
    assert seen[0.99] == pytest.approx(0.98)
    assert seen[1.0] == pytest.approx(0.0, abs=1e-9)  # on the predicted beat
    assert seen[1.05] == pytest.approx(0.1)
    assert seen[1.6] == pytest.approx(0.2)  # more than a beat ahead: the clock keeps running
    # Without a tempo there is nothing to predict: the phase stays the frame's (0).
    unknown = dataclasses.replace(frame, bpm=0.0, beat_phase=0.0, next_beat_t=0.0)
    assert FxController().step(unknown, s, HOP_S, time_s=0.0, at_s=1.2).beat_phase == 0.0
