"""The motion routes (a StyleGAN3 model's input transform): live translate/rotate, a turn per
bar locked to the beat clock, a shift on the kick; live params, OSC routes and presets reach
them."""

from __future__ import annotations

import math

import pytest

from tests.visualizer.control.streams import TableSpace, metronome
from tests.visualizer.mapping.test_latent import run, settings
from visualizer.control.params import ParamStore
from visualizer.control.routes import build_routes
from visualizer.mapping.latent import LatentController
from visualizer.mapping.settings import controller_param_specs, controller_settings


def test_no_motion_by_default():
    steps = run(LatentController(TableSpace()), metronome(bpm=120, duration_s=1.0),
                settings(pulse={"strength": 1.0}))
    assert all(latent.transform == (0.0, 0.0, 0.0) for _, latent, _ in steps)


def test_live_offsets_pass_through():
    s = settings(motion={"translate_x": 0.25, "translate_y": -0.5, "rotate_deg": 30.0})
    _, latent, state = run(LatentController(TableSpace()), metronome(bpm=120, duration_s=0.5),
                           s)[-1]
    assert latent.transform == pytest.approx((0.25, -0.5, 30.0))
    assert state.transform == latent.transform


def test_the_turn_follows_the_beat_clock_and_a_new_rate_never_jumps():
    controller = LatentController(TableSpace())
    s = settings(motion={"rotate_per_bar_deg": 10.0})
    steps = run(controller, metronome(bpm=120, duration_s=6.0), s)
    for _, latent, state in steps:  # 10 degrees per 4 beats
        assert latent.transform[2] == pytest.approx(10.0 * state.beats / 4.0, abs=1e-6)
    assert steps[-1][2].beats == pytest.approx(12.0, abs=0.1)  # 6 s at 120 BPM: 3 bars, 30 deg
    before = steps[-1][1].transform[2]
    faster = run(controller, metronome(bpm=120, duration_s=0.1), settings(
        motion={"rotate_per_bar_deg": 90.0}))
    # It carries on from where it was at the new rate (not 90 x all the beats so far: 270).
    advanced = faster[0][2].beats - steps[-1][2].beats
    assert faster[0][1].transform[2] == pytest.approx(before + 90.0 * advanced / 4.0, abs=1e-6)
    assert faster[0][1].transform[2] < 35.0


def test_each_kick_shifts_the_picture_both_ways_and_decays():
    s = settings(pulse={"strength": 0.0, "alternate": True, "release_s": 0.1},
                 motion={"kick_translate": 0.2, "kick_angle_deg": 90.0})
    steps = run(LatentController(TableSpace()), metronome(bpm=120, duration_s=3.0), s, every=2)
    shifts, seen = [], 0
    for _, latent, state in steps:
        tx, ty, _ = latent.transform
        assert tx == pytest.approx(0.0, abs=1e-12)  # 90 degrees: straight up/down
        assert ty == pytest.approx(-0.2 * state.pulse)  # up is -y in the image
        if state.pulses > seen:
            seen = state.pulses
            shifts.append(ty)
    assert len(shifts) == 5 and all(abs(y) > 0.15 for y in shifts)
    assert all(math.copysign(1, a) == -math.copysign(1, b) for a, b in zip(shifts, shifts[1:]))
    assert abs(steps[-1][1].transform[1]) < 0.05 * 0.2 * 5  # decayed by the next kick


def test_osc_and_presets_set_the_motion_params():
    store = ParamStore(controller_param_specs())
    routes = build_routes(store)
    assert routes.dispatch("/gm/map/motion/rotate_deg", [45.0], source="osc") is None
    assert routes.dispatch("/gm/map/motion/translate_x", [0.5], source="osc") is None
    assert routes.dispatch("/gm/param/motion/kick_translate", [0.1], source="osc") is None
    problem = routes.dispatch("/gm/map/motion/translate_x", [9.0], source="osc")
    assert problem is not None and "motion.translate_x" in problem
    motion = controller_settings(store.snapshot()).motion
    assert (motion.rotate_deg, motion.translate_x, motion.kick_translate) == (45.0, 0.5, 0.1)


def test_a_preset_sets_the_motion_routes():
    from pathlib import Path

    from tests.visualizer.presets.helpers import SHADERS
    from visualizer.presets.loader import parse_preset
    from visualizer.render.library import ShaderLibrary

    text = ('description = "Turns a little every bar and shifts on the kick (StyleGAN3)."\n'
            "[controller.motion]\nrotate_per_bar_deg = 5\nkick_translate = 0.05\n"
            "kick_angle_deg = 180\n")
    preset = parse_preset(text, path=Path("sg3.toml"),
                          library=ShaderLibrary(None, search_dirs=[SHADERS]))
    motion = preset.controller.motion
    assert (motion.rotate_per_bar_deg, motion.kick_translate, motion.kick_angle_deg) == (
        5.0, 0.05, 180.0)
