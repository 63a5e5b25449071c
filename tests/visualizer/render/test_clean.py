"""The performer view on Xvfb: the performer window shows the HUD, the clean window the same
picture without it, with the master gain, blackout and freeze as the recording has them.

Both windows are read off the X server's screen (what a monitor would show), not from GL: a
picture that never reached the screen, or reached the wrong window, fails here. Xvfb has one
monitor, so the two-window picture is tested with the clean view as a window beside the
performer window, and fullscreen on its own.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from tests.visualizer.render.gl_helpers import SHADERS, known_image
from tests.visualizer.render.test_window import wait_for, xdotool
from visualizer.core.errors import ConfigError, GansmaniaError
from visualizer.render.hud import HudState
from visualizer.render.library import ShaderLibrary
from visualizer.render.output import check_display
from visualizer.render.renderer import Renderer
from visualizer.render.settings import DisplaySettings
from visualizer.render.uniforms import AudioUniforms

TITLE = "gansmania-clean-test"


def geometry(title: str) -> tuple[str, tuple[int, int, int, int]]:
    """The X window named exactly ``title``: its id and (x, y, width, height) on the screen."""
    pattern = title.replace("(", r"\(").replace(")", r"\)")  # xdotool takes a regex
    window = xdotool("search", "--name", f"^{pattern}$").split()[0]
    shell = dict(line.split("=", 1) for line in xdotool("getwindowgeometry", "--shell", window).split())
    return window, (int(shell["X"]), int(shell["Y"]), int(shell["WIDTH"]), int(shell["HEIGHT"]))


def grab(box: tuple[int, int, int, int]) -> np.ndarray:
    """The X screen inside ``box`` (x, y, width, height) as uint8 (H, W, 3), top row first."""
    from PIL import ImageGrab

    x, y, width, height = box
    image = ImageGrab.grab(bbox=(x, y, x + width, y + height), xdisplay=os.environ["DISPLAY"])
    return np.asarray(image.convert("RGB"))


def off_by(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def screen_shows(box, expected: np.ndarray, *, levels: int = 2, timeout_s: float = 5.0) -> np.ndarray:
    """The screen in ``box`` once it matches ``expected`` within ``levels`` (the X server may
    take a moment to show a swap); the last grab when it never does, for the assertion."""
    deadline = time.monotonic() + timeout_s
    while True:
        shown = grab(box)
        if shown.shape == expected.shape and off_by(shown, expected) <= levels:
            return shown
        if time.monotonic() > deadline:
            return shown
        time.sleep(0.05)


def test_clean_window_shows_the_recorded_picture_without_the_hud(xvfb_display):
    from visualizer.render.window import WindowOutput

    window = WindowOutput((320, 180), title=TITLE, vsync=True, clean_monitor=0, clean_size=(320, 180))
    renderer = Renderer(window, ShaderLibrary(window.ctx, search_dirs=[SHADERS]), fit="stretch",
                        hud_visible=True)
    hud = HudState(fps=60.0, preset="clean test", error="the performer sees this")
    try:
        assert window.clean is not None and not window.clean.fullscreen
        _, performer = geometry(TITLE)
        _, clean = geometry(f"{TITLE} (clean)")
        assert performer[2:] == clean[2:] == (320, 180)
        assert clean[:2] == (800, 450)  # centred on monitor 0 (1920x1080), clear of the other

        picture = known_image(96, 54)
        renderer.submit(picture)
        frame = renderer.render(AudioUniforms(), hud=hud, capture=True)  # capture: what is recorded
        assert frame.image.std() > 20  # a real picture, not a blank one
        shown = screen_shows(clean, frame.image)
        assert off_by(shown, frame.image) <= 2
        with_hud = grab(performer)
        changed = np.abs(with_hud.astype(np.int16) - frame.image).max(axis=-1) > 24
        assert changed[:90, :160].mean() > 0.2  # the HUD panel, top left, only in window 1
        assert not changed[120:, 240:].any()  # the rest of the performer's picture is the same

        frame = renderer.render(AudioUniforms(), hud=hud, capture=True, gain=0.5)
        assert off_by(screen_shows(clean, frame.image), frame.image) <= 2  # gain as recorded

        renderer.render(AudioUniforms(), hud=hud, gain=0.0)  # blackout
        assert screen_shows(clean, np.zeros_like(frame.image), levels=0).max() == 0

        held = renderer.render(AudioUniforms(), hud=hud, capture=True, hold=True)  # freeze
        renderer.submit(255 - picture)
        renderer.submit(255 - picture)  # newest and previous both new: no blend with the old one
        renderer.render(AudioUniforms(), hud=hud, hold=True)
        assert off_by(screen_shows(clean, held.image), held.image) <= 2
        thawed = renderer.render(AudioUniforms(), hud=hud, capture=True)
        assert off_by(thawed.image, 255 - held.image) <= 3
        assert off_by(screen_shows(clean, thawed.image), thawed.image) <= 2
    finally:
        renderer.release()
        window.release()


def test_fullscreen_clean_view_letterboxes_hears_keys_and_refuses_to_close(xvfb_display):
    import glfw

    from visualizer.render.window import WindowOutput

    window = WindowOutput((240, 180), title=TITLE, clean_monitor=0, clean_fit="fit")  # 4:3 on 16:9
    renderer = Renderer(window, ShaderLibrary(window.ctx, search_dirs=[SHADERS]), fit="stretch")
    try:
        clean = window.clean
        assert clean is not None
        assert wait_for(lambda: clean.size == (1920, 1080), poll=window.poll) and clean.fullscreen
        assert window.refresh_hz is None  # Xvfb reports no refresh rate: the show paces by display.fps
        renderer.submit(np.full((48, 64, 3), 200, np.uint8))
        renderer.render(AudioUniforms())
        bars = np.zeros((1080, 1920, 3), np.uint8)
        bars[:, 240:1680] = 200  # 4:3 in the middle, black bars either side
        # Below the performer window: it was given the focus back, which raises it (no window
        # manager here; on a rig it is on another monitor).
        box = (0, 200, 1920, 880)
        shown = screen_shows(box, bars[200:])
        assert off_by(shown[:, :230], bars[200:, :230]) == 0
        assert off_by(shown[:, 250:1670], bars[200:, 250:1670]) <= 2

        clean_id, _ = geometry(f"{TITLE} (clean)")
        xdotool("windowfocus", "--sync", clean_id, "key", "h", "Right", "Escape")
        keys: list[str] = []
        assert wait_for(lambda: "escape" in keys, poll=lambda: keys.extend(window.poll()))
        assert keys == ["h", "right", "escape"]  # as the performer window hears them

        glfw.set_window_should_close(clean.window, True)  # what the window manager's close does
        window.poll()
        assert not glfw.window_should_close(clean.window) and not window.closed
        with pytest.raises(GansmaniaError, match="monitor 0 shows the clean view"):
            window.set_fullscreen(True)
        window.request_close()
        assert window.closed
    finally:
        renderer.release()
        window.release()


def test_a_clean_view_on_a_monitor_that_is_not_there_names_the_ones_that_are(xvfb_display):
    from visualizer.render.monitors import list_monitors
    from visualizer.render.output import open_output

    message = ("display.clean_monitor = 1: no such monitor; connected: 0 (screen 1920x1080) "
               "(see `gansmania devices`)")
    with pytest.raises(ConfigError) as raised:
        open_output(DisplaySettings(size=(64, 36), clean_monitor=1))
    assert str(raised.value) == message
    with pytest.raises(ConfigError) as raised:
        check_display(DisplaySettings(clean_monitor=1), monitors=list_monitors())
    assert str(raised.value) == message
    output = open_output(DisplaySettings(size=(64, 36)))  # glfw was left clean for the next window
    output.release()


@pytest.mark.parametrize(("settings", "message"), [
    ({"headless": True, "clean_monitor": 1},
     "display.clean_monitor = 1 asks for a second window, and headless (--headless) has no "
     "windows: drop one of them"),
    ({"clean_size": (640, 360)},
     "display.clean_size = [640, 360] needs display.clean_monitor (--clean-monitor N), the monitor "
     "it opens on"),
    ({"fullscreen": True, "monitor": 1, "clean_monitor": 1},
     "display.clean_monitor = 1 is display.monitor, where the performer window is fullscreen: "
     "give the clean view another monitor"),
])
def test_display_choices_that_cannot_work_together_are_one_line_errors(settings, message):
    with pytest.raises(ConfigError) as raised:
        check_display(DisplaySettings(**settings))
    assert str(raised.value) == message


def test_settings_without_a_clean_view_pass():
    check_display(DisplaySettings())
    check_display(DisplaySettings(headless=True))
    check_display(DisplaySettings(fullscreen=True, clean_monitor=1))
    check_display(DisplaySettings(fullscreen=True, clean_monitor=0, clean_size=(640, 360)))
