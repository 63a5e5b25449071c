"""The Renderer on headless EGL: frames in, chains swapped safely, transitions, HUD, stamps."""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from tests.visualizer.render.gl_helpers import SHADERS, difference, known_image
from visualizer.render.headless import HeadlessOutput
from visualizer.render.hud import Hud, HudState, font_px_for, format_lines, qr_module_px
from visualizer.render.library import ShaderLibrary
from visualizer.render.passes import ShaderError
from visualizer.render.renderer import Renderer
from visualizer.render.uniforms import AudioUniforms

QUIET = AudioUniforms()


def test_passthrough_reproduces_the_input(renderer):
    image = known_image()
    renderer.submit(image)
    frame = renderer.render(QUIET, capture=True)
    assert np.array_equal(frame.image, image)
    renderer.set_chain([("passthrough", {})])
    assert np.array_equal(renderer.render(QUIET, capture=True).image, image)


def test_torch_frames_render_like_numpy(renderer):
    import torch

    image = known_image()
    tensor = torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1)[None] / 127.5 - 1.0
    renderer.submit(tensor)
    assert np.abs(renderer.render(QUIET, capture=True).image.astype(int) - image).max() <= 1


def test_blend_crossfades_the_two_newest_frames(renderer):
    renderer.submit(np.full((64, 96, 3), 0, np.uint8))
    renderer.submit(np.full((64, 96, 3), 200, np.uint8))
    levels = [renderer.render(QUIET, blend=b, capture=True).image.mean() for b in (0.0, 0.5, 1.0)]
    assert levels == pytest.approx([0, 100, 200], abs=1)


def test_presented_frames_carry_stamps(renderer):
    captured = time.monotonic()
    renderer.submit(known_image(), capture_s=captured)
    frame = renderer.render(AudioUniforms(capture_s=captured + 0.001))
    assert frame.presented_s >= captured and frame.frame_capture_s == captured
    assert frame.latency_s == pytest.approx(frame.presented_s - captured)
    assert frame.fx_capture_s == captured + 0.001 and frame.image is None
    assert renderer.render(QUIET).index == frame.index + 1


def test_failed_chain_keeps_the_last_good_one(renderer):
    renderer.submit(known_image())
    renderer.set_chain([("mirror", {"mode": 0})])
    good = renderer.render(QUIET, capture=True).image
    for bad in ([("mirror", {"mode": 7})], [("mirorr", {})], [("mirror", {"tilez": 2})]):
        with pytest.raises(ShaderError):
            renderer.set_chain(bad)
        assert renderer.chain.names == ("mirror",)
        assert np.array_equal(renderer.render(QUIET, capture=True).image, good)


def test_hot_reload_keeps_the_last_good_pass(output, egl_context, tmp_path):
    for name in ("mirror", "crossfade"):
        shutil.copy(SHADERS / f"{name}.glsl", tmp_path / f"{name}.glsl")
    renderer = Renderer(output, ShaderLibrary(egl_context, search_dirs=[tmp_path]), fit="stretch")
    renderer.submit(known_image())
    renderer.set_chain([("mirror", {"mode": 0})])
    good = renderer.render(QUIET, capture=True).image
    assert renderer.reload_shaders() == []
    path = tmp_path / "mirror.glsl"
    text = path.read_text()
    path.write_text(text.replace("uv.x = 0.5 - abs(uv.x - 0.5);", "uv.x = 0.5 - abs(uv.x - 0.5)"))
    with pytest.raises(ShaderError) as caught:
        renderer.reload_shaders()
    assert "\n" not in str(caught.value) and "mirror.glsl:" in str(caught.value)
    assert np.array_equal(renderer.render(QUIET, capture=True).image, good)
    assert renderer.reload_shaders() == []  # reported once; the show goes on
    path.write_text(text.replace("uv.x = 0.5 - abs(uv.x - 0.5);", "uv.x = abs(uv.x - 0.5) + 0.5;"))
    assert renderer.reload_shaders() == ["mirror"]
    fixed = renderer.render(QUIET, capture=True).image
    assert difference(fixed, good) > 5
    renderer.release()


def test_transition_fades_between_looks(renderer):
    image = known_image()
    renderer.submit(image)
    renderer.set_chain([("passthrough", {})])
    renderer.begin_transition([("grade", {"saturation": 0.0})])
    start = renderer.render(QUIET, transition=0.0, capture=True).image
    middle = renderer.render(QUIET, transition=0.5, capture=True).image
    end = renderer.render(QUIET, transition=1.0, capture=True).image
    assert np.array_equal(start, image)
    assert np.abs(end[..., 0].astype(int) - end[..., 2]).max() <= 1  # grey
    assert np.abs(middle.astype(int) - (start.astype(int) + end) / 2).max() <= 1.0
    renderer.end_transition()
    assert renderer.chain.names == ("grade",) and renderer.incoming is None
    assert np.array_equal(renderer.render(QUIET, capture=True).image, end)


def test_bad_transition_changes_nothing(renderer):
    renderer.set_chain([("passthrough", {})])
    with pytest.raises(ShaderError):
        renderer.begin_transition([("nope", {})])
    assert renderer.incoming is None
    with pytest.raises(ValueError, match="crossfade mode"):
        renderer.begin_transition([("grade", {})], mode="wipe")


def test_fx_scale_renders_smaller_and_scales_up(output, library):
    renderer = Renderer(output, library, fx_scale=0.5, fit="stretch")
    assert renderer.fx_size == (48, 32)
    image = known_image()
    renderer.submit(image)
    frame = renderer.render(QUIET, capture=True)
    assert frame.image.shape == (64, 96, 3)
    assert difference(frame.image, image) < 3.0  # smooth ramps survive half resolution
    renderer.release()


def test_output_resize_is_followed(output, renderer):
    renderer.submit(known_image())
    renderer.set_chain([("feedback", {})])
    renderer.render(QUIET)
    output.resize((64, 48))
    frame = renderer.render(QUIET, capture=True)
    assert frame.image.shape == (48, 64, 3) and renderer.chain.size == (64, 48)


def test_hud_draws_only_when_visible(output, renderer):
    renderer.submit(np.zeros((64, 96, 3), np.uint8))
    state = HudState(fps=60.0, bass=1.0, preset="test")
    renderer.render(QUIET, hud=state)
    assert output.read().max() == 0
    renderer.hud_visible = True
    frame = renderer.render(QUIET, hud=state, capture=True)
    assert frame.image.max() == 0  # the capture for recording has no HUD...
    assert output.read().max() > 100  # ...the screen has


def test_hud_text_is_rasterised_only_when_it_changes(egl_context, output):
    hud = Hud(egl_context, refresh_s=0.25)
    target = output.target()
    target.use()
    state = HudState(fps=60.0, generator_ms=30.0, bpm=120.0, preset="one", osc_port=9000)
    hud.draw(state, target_size=target.size, now_s=0.0)
    hud.draw(state, target_size=target.size, now_s=0.01)
    hud.draw(HudState(fps=60.0, generator_ms=30.0, bpm=120.0, preset="one", osc_port=9000, bass=0.9,
                      beat_phase=0.5), target_size=target.size, now_s=0.02)  # meters: no text change
    assert hud.renders == 1
    hud.draw(HudState(fps=59.0, preset="one", osc_port=9000, generator_ms=30.0, bpm=120.0),
             target_size=target.size, now_s=0.03)
    assert hud.renders == 1  # a number changed: waits for the refresh interval
    hud.draw(HudState(fps=59.0, preset="one", osc_port=9000, generator_ms=30.0, bpm=120.0),
             target_size=target.size, now_s=0.3)
    assert hud.renders == 2
    hud.draw(HudState(fps=59.0, preset="two", osc_port=9000, generator_ms=30.0, bpm=120.0,
                      error="generator: RuntimeError: boom"), target_size=target.size, now_s=0.31)
    assert hud.renders == 3  # a name or an error shows at once
    hud.release()


def test_hud_shows_a_qr_code_module_for_module(egl_context):
    from visualizer.web.qr import qr_matrix

    qr = qr_matrix("http://192.168.1.23:8080/?token=Zq3xyzZq3xyz")
    output = HeadlessOutput((640, 480), ctx=egl_context)
    hud = Hud(egl_context)
    try:
        target = output.target()
        target.use()
        hud.draw(HudState(fps=60.0, preset="one", qr=qr), target_size=target.size, now_s=0.0)
        image = output.read()
        # Pure white is only the code's light modules (the text is grey): their box is the code.
        rows, cols = np.nonzero(image.min(axis=2) == 255)
        top, left = rows.min(), cols.min()
        module = qr_module_px(font_px_for(480))
        assert rows.max() - top + 1 == cols.max() - left + 1 == len(qr) * module
        centres = image[top + module // 2::module, left + module // 2::module][:len(qr), :len(qr)]
        assert np.array_equal(centres.max(axis=2) < 128, np.asarray(qr))
    finally:
        hud.release()
        output.release()


def test_hud_lines():
    lines = format_lines(HudState(fps=59.6, generator_ms=38.25, latency_ms=41.7, bpm=128.0, level=0.5,
                                  preset="neon", osc_port=9000, error="generator: RuntimeError: x\ny"))
    assert lines[0] == "60 fps   gen 38.2 ms   latency 42 ms"
    assert lines[1] == "128.0 BPM   level 0.50"
    assert lines[-2] == "preset neon   OSC :9000"
    assert lines[-1] == "generator: RuntimeError: x y"
    assert format_lines(HudState())[0] == "-- fps   gen -- ms   latency -- ms"


def test_open_output_headless_from_settings():
    from visualizer.render.output import open_output
    from visualizer.render.settings import DisplaySettings

    output = open_output(DisplaySettings(headless=True, size=(64, 48)))
    try:
        renderer = Renderer.from_settings(output, ShaderLibrary(output.ctx, search_dirs=[SHADERS]),
                                          DisplaySettings(headless=True, size=(64, 48), fx_scale=0.5))
        renderer.submit(known_image())
        assert renderer.render(QUIET, capture=True).image.shape == (48, 64, 3)
        assert renderer.fx_size == (32, 24) and output.poll() == [] and not output.closed
        renderer.release()
    finally:
        output.release()
