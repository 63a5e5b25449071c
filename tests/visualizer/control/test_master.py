"""Master controls and live shader parameters, honoured by the app: blackout, intensity,
freeze (picture and latent walk), truncation, HUD, cross-fade length, shader overrides."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from tests.visualizer.backends.models import small_generator
from tests.visualizer.live_helpers import click_track, headless_app, show_config
from visualizer.backends.torch_backend import TorchLatentSpace
from visualizer.backends.worker import GeneratorWorker
from visualizer.control.master import master_param_specs
from visualizer.control.params import ParamStore
from visualizer.core.slot import LatestSlot
from visualizer.mapping.latent import LatentController, LatentFeed
from visualizer.mapping.settings import controller_param_specs


@pytest.fixture
def app(tmp_path):
    audio, _ = click_track(tmp_path / "click.wav", duration_s=2.0)
    app = headless_app(show_config(audio))
    app.set_chain((), name="passthrough")  # the picture as uploaded: known pixel values
    yield app
    app.close()


def _show(app, image: np.ndarray) -> np.ndarray:
    """Upload ``image`` as the newest generator frame, render one frame, return the pixels."""
    app.renderer.submit(image)
    frames = []
    remove = app.add_frame_observer(frames.append, pixels=True)
    app.step_frame(0, now_s=time.monotonic(), dt_s=1 / 60, time_s=0.0)
    remove()
    return frames[0].image.astype(np.float64)


def _gradient(size: int = 64, *, flip: bool = False) -> np.ndarray:
    ramp = np.linspace(40, 240, size, dtype=np.float64)
    image = np.stack([np.tile(ramp, (size, 1))] * 3, axis=-1)
    return (image[:, ::-1] if flip else image).astype(np.uint8)


def test_intensity_dims_and_blackout_blacks_out_the_output(app):
    full = _show(app, _gradient())
    assert full.mean() > 100
    app.params.set("master.intensity", 0.5, source="osc")
    half = _show(app, _gradient())
    assert half.mean() / full.mean() == pytest.approx(0.5, abs=0.01)
    app.params.set("master.blackout", True, source="osc")
    assert _show(app, _gradient()).max() == 0
    app.params.set("master.blackout", False, source="osc")
    app.params.set("master.intensity", 1.0, source="osc")
    assert np.abs(_show(app, _gradient()) - full).max() <= 1


def test_freeze_holds_the_picture_until_released(app):
    before = _show(app, _gradient())
    app.params.set("master.freeze", True, source="osc")
    held = _show(app, _gradient())
    assert np.abs(held - before).max() <= 1
    assert np.abs(_show(app, _gradient(flip=True)) - held).max() <= 1  # a new frame: still held
    app.params.set("master.freeze", False, source="osc")
    moved = _show(app, _gradient(flip=True))
    assert np.abs(moved - held).mean() > 30  # the new picture shows again


def test_freeze_pauses_the_generator_and_the_walk(app):
    from visualizer.mapping.latent import LatentFeed

    clock = iter(range(100)).__next__
    feed = LatentFeed(LatentController(TorchLatentSpace(small_generator(seed=3))), app.analyzer,
                      app.params.snapshot, clock=clock)
    assert feed.frozen() is False
    feed.next()
    assert feed.next().seq == 1
    app.params.set("master.freeze", True, source="osc")
    assert feed.frozen() is True
    app.params.set("master.freeze", False, source="osc")
    assert feed._last_step_s is None  # the walk resumes with one ordinary step, not a jump
    painted = []

    class Backend:
        name = "counting"

        def synthesize(self, latent):
            painted.append(latent.seq)
            return np.zeros((8, 8, 3), np.uint8)

    paused = threading.Event()
    paused.set()
    worker = GeneratorWorker(Backend(), lambda: type("L", (), {"seq": len(painted), "t_audio": 0.0})(),
                             paused=paused.is_set)
    worker.start()
    try:
        time.sleep(0.2)
        assert painted == []  # paused: no latent pulled, nothing painted
        paused.clear()
        deadline = time.monotonic() + 5.0
        while len(painted) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(painted) >= 3
    finally:
        worker.stop()


def test_master_truncation_scales_psi_to_the_average_image():
    generator = small_generator(seed=3)
    space = TorchLatentSpace(generator)
    params = ParamStore({**controller_param_specs(), **master_param_specs()})
    silence = type("Silence", (), {"latest": LatestSlot()})()  # no features yet

    def first_step():
        return LatentFeed(LatentController(space), silence, params.snapshot, clock=time.monotonic).step(1 / 30)

    normal = first_step().ws
    params.set("master.truncation", 0.0, source="osc")
    flat = first_step().ws
    assert np.allclose(flat, np.broadcast_to(space.w_avg, flat.shape), atol=1e-5)
    assert not np.allclose(normal, flat, atol=1e-3)


def test_hud_param_and_h_key_agree(app):
    assert app.renderer.hud_visible is False
    app.params.set("master.hud", True, source="osc")
    _show(app, _gradient())
    assert app.renderer.hud_visible is True
    app.toggle_hud()  # the H key
    assert app.renderer.hud_visible is False and app.params.get("master.hud") is False


def test_live_shader_overrides_beat_the_preset_until_reset(app):
    app.set_chain([("zoom", {"twist": 0.3})], name="tunnel-like")
    _show(app, _gradient())
    assert app.renderer.chain.params(0)["twist"] == pytest.approx(0.3)
    app.params.set("shader.zoom.twist", -1.0, source="osc")
    _show(app, _gradient())
    assert app.renderer.chain.params(0)["twist"] == pytest.approx(-1.0)
    app.set_chain([("grain", {}), ("zoom", {"twist": 0.1})], name="another look")
    _show(app, _gradient())
    assert app.renderer.chain.params(1)["twist"] == pytest.approx(-1.0)  # across switches
    app.params.post("fx_reset", source="osc")
    _show(app, _gradient())
    assert app.renderer.chain.params(1)["twist"] == pytest.approx(0.1)  # the preset's again
    assert app.params.get("shader.zoom.twist") == 0.0  # the store back at the pass default


def test_crossfade_beats_override_every_presets_own(app):
    from visualizer.presets.live_presets import install_presets

    presets = install_presets(app, "drift")
    app.params.set("master.crossfade_beats", 0.5, source="osc")
    _show(app, _gradient())
    assert presets.deck.fade_beats_override == 0.5
    assert presets.deck.select("strobe_club")
    assert presets.deck._fade.beats == 0.5  # strobe_club's own transition says 1 beat
    app.params.set("master.crossfade_beats", -1.0, source="osc")
    _show(app, _gradient())
    assert presets.deck.fade_beats_override is None
