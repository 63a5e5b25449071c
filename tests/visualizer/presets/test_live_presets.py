"""Presets under `gansmania live` (headless EGL, a click track played in real time, a tiny
generator): every malformed edit of the running preset, and a broken shader, keep the last good
look on screen with the error on the HUD; fixing the file brings the edit in within a second."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from tests.signals import click_train, write_wav
from tests.visualizer.presets.helpers import FIXTURE_SHADERS, FIXTURES, PRESETS, SHADERS
from tests.visualizer.presets.showreel import tiny_generator
from tests.visualizer.presets.test_loader import MALFORMED

STEP_FRAMES = 10  # frames between edits: 0.33 s at 30 fps, more than the 0.25 s reload poll
BROKEN = ("bad_toml", "unknown_key", "wrong_type", "out_of_range", "unknown_shader",
          "glsl_syntax", "missing_uniform")
GOOD_CHAIN = ("zoom", "flash", "grade", "grain")


def _edit(path: Path, text: str) -> None:
    before = os.stat(path).st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))  # a new stamp even on coarse clocks


@pytest.fixture
def show(tmp_path, monkeypatch):
    from visualizer.core.config import override
    from visualizer.settings import ShowConfig

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    user_shaders = tmp_path / "config" / "gansmania" / "shaders"
    user_shaders.mkdir(parents=True)
    for path in FIXTURE_SHADERS.glob("*.glsl"):
        shutil.copy(path, user_shaders / path.name)
    audio, _ = click_train(bpm=120.0, duration_s=10.0)
    write_wav(tmp_path / "click.wav", audio)
    tiny_generator(tmp_path / "tiny.safetensors")
    config = ShowConfig()
    for key, value in {"model.path": tmp_path / "tiny.safetensors", "model.max_fps": 10.0,
                       "audio.input": str(tmp_path / "click.wav"), "display.headless": True,
                       "display.size": (64, 36), "display.fps": 30.0}.items():
        config = override(config, key, value)
    return config


def test_live_keeps_the_last_good_look_through_broken_edits(show, tmp_path):
    import torch

    from tests.visualizer.live_helpers import headless_app
    from visualizer.presets.live_presets import install_presets
    from visualizer.show import open_model

    look = tmp_path / "look.toml"
    good = (PRESETS / "drift.toml").read_text()
    look.write_text(good)
    user_zoom = tmp_path / "config" / "gansmania" / "shaders" / "zoom.glsl"
    zoom = (SHADERS / "zoom.glsl").read_text()
    steps = [(look, good.replace("pulse = 0.04", "pulse = 0.3"))]
    steps += [(look, (FIXTURES / f"{name}.toml").read_text()) for name in BROKEN]
    steps += [(look, good.replace("pulse = 0.04", "pulse = 0.5")),
              (user_zoom, zoom.replace("void main() {", "void main() {\n    not glsl;", 1)),
              (user_zoom, zoom.replace("float r = length(p);", "float r = length(p) * 1.5;", 1))]
    seen, brightness = [], []

    threads = torch.get_num_threads()
    app = headless_app(show, model=open_model(show.model))  # the deck's own wiring, no look yet
    try:
        presets = install_presets(app, str(look))
        reported = []  # what reached the HUD's error line, through the app's public hook
        report_error = app.report_error
        app.report_error = lambda source, message: report_error(
            source, message) if reported.append((source, message)) is None else None

        def hook(tick) -> None:
            step, offset = divmod(tick.index, STEP_FRAMES)
            if step >= len(steps):
                app.request_stop()
                return
            if offset == 0:
                path, text = steps[step]
                _edit(path, text)
            elif offset == STEP_FRAMES - 1:  # what the edit led to, just before the next one
                deck = presets.deck
                seen.append(dict(errors=deck.errors, hud=list(reported), shown=deck.error,
                                 chain=app.renderer.chain.names,
                                 pulse=app.renderer.chain.params(0).get("pulse"),
                                 zoom_text=app.renderer.chain.steps[0].shader.source.text))

        app.add_frame_hook(hook)
        app.add_frame_observer(  # frames before the generator's first picture are black by design
            lambda frame: frame.frame_capture_s is not None and brightness.append(frame.image.mean()),
            pixels=True)
        app.run(duration_s=60.0)
    finally:
        app.close()
        torch.set_num_threads(threads)

    assert len(seen) == len(steps)
    first_edit = seen[0]
    assert first_edit["errors"] == {} and first_edit["pulse"] == 0.3
    for name, state in zip(BROKEN, seen[1:1 + len(BROKEN)]):
        message = list(state["errors"].values())[-1] if state["errors"] else ""  # the newest
        if name == "glsl_syntax":  # the compiler's wording depends on the driver
            assert message.startswith(f"{user_zoom.parent / 'broken_syntax.glsl'}:6: GLSL: ")
        else:  # the same one line as `gansmania presets check`
            assert message == f"{look}:{MALFORMED[name]}".replace(str(FIXTURE_SHADERS),
                                                                   str(user_zoom.parent))
        assert state["hud"][-1] == ("preset", state["shown"]), name  # on the HUD...
        file, _, rest = message.partition(":")
        assert state["shown"] == f"{Path(file).name}:{rest}" or name == "missing_uniform", name
        assert "/" not in state["shown"], name  # ...in one short line: no folders
        assert state["chain"] == GOOD_CHAIN and state["pulse"] == 0.3, name  # last good look
    fixed, broken_shader, fixed_shader = seen[1 + len(BROKEN):]
    assert fixed["errors"] == {} and fixed["pulse"] == 0.5
    assert "zoom.glsl" in next(iter(broken_shader["errors"]), "") and "not glsl" not in \
        broken_shader["zoom_text"]  # the last good zoom pass still runs
    assert fixed_shader["errors"] == {} and "length(p) * 1.5" in fixed_shader["zoom_text"]
    assert len(brightness) > len(steps) * STEP_FRAMES * 0.8 and min(brightness) > 5.0  # never black



class FakeApp:
    """The LiveApp extension points LivePresets uses, over a real renderer and ParamStore."""

    def __init__(self, renderer) -> None:
        from visualizer.control.params import ParamStore
        from visualizer.mapping.settings import controller_param_specs
        from visualizer.settings import ShowConfig

        self.show = dataclasses.replace(ShowConfig(), presets=dataclasses.replace(
            ShowConfig().presets, slots=("drift", "tunnel"), watch=False))
        self.renderer = renderer
        self.params = ParamStore(controller_param_specs())
        self.model_path = None
        self.preset_name, self.transition = "", 0.0
        self.handlers, self.hooks, self.errors = {}, [], []

    def on_action(self, kind, handler) -> None:
        self.handlers[kind] = handler

    def add_frame_hook(self, hook):
        self.hooks.append(hook)

    def report_error(self, source, message) -> str:
        self.errors.append((source, message))
        return message


def test_switching_sets_the_controller_params_and_glides_the_keyframes_over_the_fade(rig, monkeypatch):
    from tests.visualizer.presets.helpers import beat_frame
    from visualizer.app import Tick
    from visualizer.control.params import Action
    from visualizer.presets.live_presets import LivePresets
    from visualizer.render.uniforms import AudioUniforms

    monkeypatch.setattr("visualizer.presets.catalog.default_preset_dirs", lambda: (PRESETS,))
    app = FakeApp(rig.renderer)
    presets = LivePresets(app)
    presets.install("drift")
    assert app.params.get("walk.seeds") == (11, 23, 42, 57) and app.preset_name == "drift"

    def tick(t: float) -> None:
        for hook in app.hooks:
            hook(Tick(0, t, 1 / 60, t, beat_frame(t), AudioUniforms(), app.params.snapshot()))

    tick(0.0)
    tick(0.5)  # beat 1
    app.handlers["preset"](Action(kind="preset", value=2, source="keyboard", t_s=0.5))
    tick(1.0)  # beat 2: waiting for the bar
    assert app.params.get("walk.seeds") == (11, 23, 42, 57) and app.preset_name.endswith("next bar")
    tick(2.5)  # beat 5: a quarter into the 4-beat fade
    assert app.params.get("walk.seeds") == (101, 102, 103, 104, 105, 106)
    assert app.params.get("walk.bank_change_s") == pytest.approx(2.0)  # the fade: 4 beats at 120 BPM
    assert app.transition == pytest.approx(0.25) and app.preset_name == "drift > tunnel 25%"
    tick(4.0)  # beat 8: done
    assert app.transition == 0.0 and app.preset_name == "tunnel"
    assert app.params.get("walk.bank_change_s") == 1.0  # tunnel's own glide again
    app.handlers["preset_prev"](Action(kind="preset_prev", value=None, source="osc", t_s=4.0))
    assert presets.deck.incoming.name == "drift"
    app.handlers["preset"](Action(kind="preset", value=None, source="osc", t_s=4.0))
    assert app.errors[-1][0] == "preset"
