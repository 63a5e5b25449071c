"""The FX library: every pass compiles, reacts to its parameters and to the music where it should."""

from __future__ import annotations

import numpy as np
import pytest

from tests.visualizer.render.gl_helpers import SHADERS, difference, known_image, render_pass
from visualizer.render.uniforms import AudioUniforms

LIBRARY = ("passthrough", "zoom", "flash", "feedback", "kaleidoscope", "mirror", "chromatic",
           "bloom", "grade", "strobe", "grain", "crossfade", "mix_input")
SAMPLERS = {"crossfade": "u_to", "mix_input": "u_video"}  # the passes' @texture, bound in these tests

LOUD = AudioUniforms(time_s=1.3, beat_phase=0.1, tempo=1.0, onset=1.0, level=1.0, bass=1.0,
                     mid=1.0, high=1.0, chroma=tuple(float(k == 4) for k in range(12)))
QUIET = AudioUniforms(time_s=1.3, beat_phase=0.1, tempo=1.0)


def test_the_library_is_complete(library):
    assert set(LIBRARY) <= set(library.names())
    for name in library.names():
        assert library.load(name).source.doc, f"{name}.glsl has no @doc line"


def test_passthrough_reproduces_the_input(egl_context, library):
    image = known_image()
    assert np.array_equal(render_pass(egl_context, library, "passthrough", image=image), image)


# (pass, parameter, value A, value B, uniforms): changing the parameter changes the picture.
PARAMETER_CASES = [
    ("zoom", "zoom", 1.0, 2.0, QUIET),
    ("zoom", "ripple", 0.0, 0.2, LOUD),
    ("flash", "amount", 0.0, 1.0, LOUD),
    ("kaleidoscope", "segments", 3, 8, QUIET),
    ("mirror", "mode", 0, 1, QUIET),
    ("chromatic", "amount", 0.0, 0.05, QUIET),
    ("bloom", "intensity", 0.0, 4.0, QUIET),
    ("grade", "saturation", 1.0, 0.0, QUIET),
    ("grade", "contrast", 1.0, 2.0, QUIET),
    ("grade", "hue", 0.0, 90.0, QUIET),
    ("strobe", "amount", 0.0, 1.0, QUIET),
    ("grain", "amount", 0.0, 0.3, QUIET),
    ("crossfade", "progress", 0.0, 1.0, QUIET),
    ("mix_input", "amount", 0.0, 1.0, QUIET),
    ("mix_input", "mode", 0, 2, QUIET),
]


@pytest.mark.parametrize("name, param, a, b, uniforms", PARAMETER_CASES,
                         ids=[f"{c[0]}.{c[1]}" for c in PARAMETER_CASES])
def test_pass_reacts_to_its_parameter(egl_context, library, name, param, a, b, uniforms):
    other = {SAMPLERS[name]: known_image()[::-1, ::-1].copy()} if name in SAMPLERS else None
    first = render_pass(egl_context, library, name, {param: a}, uniforms=uniforms, textures=other)
    second = render_pass(egl_context, library, name, {param: b}, uniforms=uniforms, textures=other)
    assert difference(first, second) > 2.0


# (pass, parameters): with these, the loud frame differs from the quiet one; with `still`, it does not.
AUDIO_CASES = [
    ("zoom", {"pulse": 0.5}, {"pulse": 0.0, "ripple": 0.0}),
    ("flash", {"amount": 1.0}, {"amount": 0.0}),
    ("chromatic", {"amount": 0.01, "onset_boost": 5.0}, {"amount": 0.01, "onset_boost": 0.0}),
    ("bloom", {"level_boost": 4.0, "threshold": 0.3}, {"level_boost": 0.0, "threshold": 0.3}),
    ("grade", {"chroma_hue": 1.0}, {"chroma_hue": 0.0}),
    ("strobe", {"amount": 1.0, "onset_gate": 1.0}, {"amount": 1.0, "onset_gate": 0.0}),
    ("grain", {"amount": 0.1, "high_boost": 4.0}, {"amount": 0.1, "high_boost": 0.0}),
    ("mirror", {"mode": 3, "bass_zoom": 1.0}, {"mode": 3, "bass_zoom": 0.0}),
]


@pytest.mark.parametrize("name, reactive, still", AUDIO_CASES, ids=[c[0] for c in AUDIO_CASES])
def test_pass_reacts_to_the_music(egl_context, library, name, reactive, still):
    loud = render_pass(egl_context, library, name, reactive, uniforms=LOUD)
    quiet = render_pass(egl_context, library, name, reactive, uniforms=QUIET)
    assert difference(loud, quiet) > 1.0
    loud_still = render_pass(egl_context, library, name, still, uniforms=LOUD)
    quiet_still = render_pass(egl_context, library, name, still, uniforms=QUIET)
    assert difference(loud_still, quiet_still) < 0.05


def test_flash_is_brighter_on_an_onset(egl_context, library):
    quiet = render_pass(egl_context, library, "flash", {"amount": 0.8}, uniforms=QUIET)
    loud = render_pass(egl_context, library, "flash", {"amount": 0.8}, uniforms=LOUD)
    assert loud.mean() > quiet.mean() + 40
    assert np.all(loud >= quiet)


def test_beat_flash_decays_through_the_beat(egl_context, library):
    params = {"amount": 0.0, "on_beat": 1.0}
    means = [render_pass(egl_context, library, "flash", params,
                         uniforms=AudioUniforms(beat_phase=phase, tempo=1.0)).mean()
             for phase in (0.0, 0.3, 0.9)]
    assert means[0] > means[1] > means[2]


@pytest.mark.parametrize(("name", "params"), [
    ("strobe", {"amount": 1.0, "rate": 1.0, "duty": 0.2}),
    ("flash", {"amount": 0.0, "on_beat": 1.0}),
])
def test_beat_locked_passes_hold_still_without_a_tempo(egl_context, library, name, params):
    # No tempo: the phase sits at 0, which is "on the beat"; lit for as long as it lasts, before.
    still = render_pass(egl_context, library, name, params, uniforms=AudioUniforms(beat_phase=0.0))
    assert np.array_equal(still, known_image())


@pytest.mark.parametrize("mode, flip", [(0, np.s_[:, ::-1]), (1, np.s_[::-1, :])])
def test_mirror_output_is_symmetric(egl_context, library, mode, flip):
    image = known_image()
    out = render_pass(egl_context, library, "mirror", {"mode": mode}, image=image)
    assert np.abs(out.astype(int) - out[flip]).max() <= 1
    assert difference(image, image[flip]) > 10  # the input was not symmetric


@pytest.mark.parametrize("segments", [4, 8])
def test_kaleidoscope_is_rotationally_symmetric(egl_context, library, segments):
    image = known_image(96, 96)
    out = render_pass(egl_context, library, "kaleidoscope", {"segments": segments, "spin": 0.7},
                      image=image, uniforms=QUIET)
    turned = np.rot90(out)  # 90 degrees is a multiple of 360/segments for 4 and 8
    close = np.abs(out.astype(int) - turned).max(axis=-1) <= 2
    assert close.mean() > 0.99
    assert difference(image, np.rot90(image)) > 10


def test_kaleidoscope_spins_with_time(egl_context, library):
    frames = [render_pass(egl_context, library, "kaleidoscope", {"spin": 1.0},
                         uniforms=AudioUniforms(time_s=t)) for t in (0.0, 0.5)]
    assert difference(*frames) > 2.0


def test_crossfade_blends_the_two_looks(egl_context, library):
    a = known_image()
    b = (255 - a).astype(np.uint8)
    def fade(progress, mode=0):
        return render_pass(egl_context, library, "crossfade", {"progress": progress, "mode": mode},
                           image=a, textures={"u_to": b})
    assert np.array_equal(fade(0.0), a)
    assert np.array_equal(fade(1.0), b)
    halfway = (a.astype(float) + b) / 2
    assert np.abs(fade(0.5) - halfway).max() <= 1.0
    for mode in (1, 2):  # luma wipe and dip also start at A and end at B
        assert difference(fade(0.0, mode), a) < 0.5 and difference(fade(1.0, mode), b) < 0.5
    assert fade(0.5, mode=2).max() <= 1  # the dip passes through black


def test_grade_desaturates_to_grey(egl_context, library):
    out = render_pass(egl_context, library, "grade", {"saturation": 0.0}).astype(int)
    assert np.abs(out[..., 0] - out[..., 1]).max() <= 1 and np.abs(out[..., 1] - out[..., 2]).max() <= 1


def test_grade_hue_follows_the_strongest_pitch_class(egl_context, library):
    def graded(pitch):
        chroma = tuple(float(k == pitch) for k in range(12))
        return render_pass(egl_context, library, "grade", {"chroma_hue": 1.0},
                           uniforms=AudioUniforms(chroma=chroma))
    c, e, c_again = graded(0), graded(4), graded(0)
    assert difference(c, e) > 10
    assert np.array_equal(c, c_again)
    silent = render_pass(egl_context, library, "grade", {"chroma_hue": 1.0}, uniforms=QUIET)
    assert np.abs(silent.astype(int) - known_image()).max() <= 1  # silence: no turn


def test_strobe_lights_only_in_its_duty_window(egl_context, library):
    params = {"amount": 1.0, "rate": 1.0, "duty": 0.2}
    lit = render_pass(egl_context, library, "strobe", params,
                      uniforms=AudioUniforms(beat_phase=0.1, tempo=1.0))
    dark = render_pass(egl_context, library, "strobe", params,
                       uniforms=AudioUniforms(beat_phase=0.6, tempo=1.0))
    assert lit.min() == 255
    assert np.array_equal(dark, known_image())


def test_grain_moves_with_time_and_vanishes_at_zero(egl_context, library):
    frames = [render_pass(egl_context, library, "grain", {"amount": 0.2}, uniforms=AudioUniforms(time_s=t))
              for t in (0.0, 0.5)]
    assert difference(*frames) > 2.0
    off = render_pass(egl_context, library, "grain", {"amount": 0.0})
    assert np.array_equal(off, known_image())


def test_bloom_glows_around_bright_parts_only(egl_context, library):
    image = np.zeros((64, 96, 3), np.uint8)
    image[24:40, 40:56] = 255  # one white square on black
    out = render_pass(egl_context, library, "bloom", {"threshold": 0.1, "intensity": 2.0, "radius": 2.0},
                      image=image).astype(int)
    column = out[:, 48, 0]
    assert column[22] > 40  # light spills above the square (it starts at row 24)
    assert column[22] > column[18] > column[2]  # and fades with distance
    assert column[2] == 0
    none = render_pass(egl_context, library, "bloom", {"threshold": 1.0}, image=image)
    assert np.array_equal(none, image)


def test_zoom_magnifies_the_centre(egl_context, library):
    image = known_image()
    out = render_pass(egl_context, library, "zoom", {"zoom": 2.0}, image=image, uniforms=QUIET)
    # Red ramps across the width: zoomed 2x, the visible ramp spans half the range.
    red = out[32, :, 0].astype(int)
    assert 100 < red[-1] - red[0] < 150
    assert (SHADERS / "zoom.glsl").is_file()


def test_chromatic_splits_channels(egl_context, library):
    image = np.zeros((64, 96, 3), np.uint8)
    image[:, 40:56] = 255  # a white bar: after the split its edges turn coloured
    out = render_pass(egl_context, library, "chromatic", {"amount": 0.05, "radial": False}, image=image)
    row = out[32].astype(int)
    assert np.any(row[:, 0] != row[:, 2])  # red and blue no longer line up
