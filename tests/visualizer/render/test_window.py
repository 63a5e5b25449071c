"""The real glfw window on Xvfb: render, fullscreen and back, HUD, keys sent through the X server.

Keys are typed with xdotool (XTEST), so they travel the same path as a keyboard's: X server ->
glfw's event loop -> our key callback. Calling the callback directly would skip exactly the part
that can break.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import numpy as np
import pytest

from tests.visualizer.render.gl_helpers import SHADERS
from visualizer.render.hud import HudState
from visualizer.render.library import ShaderLibrary
from visualizer.render.renderer import Renderer
from visualizer.render.uniforms import AudioUniforms

TITLE = "gansmania-window-test"


def wait_for(condition, *, poll, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        poll()
        if condition():
            return True
        time.sleep(0.02)
    return False


def xdotool(*args: str) -> str:
    binary = shutil.which("xdotool")
    if binary is None:
        pytest.fail("xdotool is not installed; run `make test`, which installs it")
    return subprocess.run([binary, *args], check=True, capture_output=True, text=True, timeout=10).stdout


def test_window_renders_goes_fullscreen_shows_hud_and_hears_keys(xvfb_display):
    from visualizer.render.window import WindowOutput

    window = WindowOutput((320, 180), title=TITLE, vsync=True)
    renderer = Renderer(window, ShaderLibrary(window.ctx, search_dirs=[SHADERS]), fit="stretch")
    try:
        image = np.zeros((64, 64, 3), np.uint8)
        image[:, :32] = 255  # white left half
        renderer.submit(image)
        renderer.set_chain([("grain", {"amount": 0.0})])
        frame = renderer.render(AudioUniforms(), capture=True)
        assert frame.image.shape == (180, 320, 3)
        assert frame.image[:, :150].min() == 255 and frame.image[:, 170:].max() == 0
        assert frame.presented_s > 0

        window.set_fullscreen(True)  # monitor 0 of Xvfb: 1920x1080
        assert wait_for(lambda: window.size == (1920, 1080), poll=window.poll)
        assert window.fullscreen
        frame = renderer.render(AudioUniforms(), capture=True)
        assert frame.image.shape == (1080, 1920, 3)
        assert frame.image[:, :900].min() == 255 and frame.image[:, 1020:].max() == 0

        renderer.hud_visible = True
        renderer.render(AudioUniforms(), hud=HudState(fps=60.0, preset="window test", error="none"))
        window.toggle_fullscreen()
        assert wait_for(lambda: window.size == (320, 180), poll=window.poll)
        assert not window.fullscreen
        renderer.render(AudioUniforms(), hud=HudState(fps=60.0))

        window_id = xdotool("search", "--name", TITLE).split()[0]
        xdotool("windowfocus", "--sync", window_id, "key", "h", "Right", "Escape")
        keys: list[str] = []
        assert wait_for(lambda: "escape" in keys, poll=lambda: keys.extend(window.poll()))
        assert keys == ["h", "right", "escape"]
        assert not window.closed
        window.request_close()
        assert window.closed
    finally:
        renderer.release()
        window.release()


def test_window_without_display_says_use_headless(monkeypatch):
    from visualizer.core.errors import GansmaniaError
    from visualizer.render.window import WindowOutput

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(GansmaniaError, match="--headless"):
        WindowOutput((320, 180))


def test_fullscreen_window_stays_up_when_the_focus_moves_away(xvfb_display):
    """On a rig the focus leaves the projector's window (the laptop's screen, another app): it
    must not iconify (with no window manager, glfw's attempt raised from poll() and ended it)."""
    import re

    from visualizer.render.window import WindowOutput

    window = WindowOutput((320, 180), title=TITLE, fullscreen=True)
    try:
        assert wait_for(lambda: window.size == (1920, 1080), poll=window.poll)
        root = re.search(r"Window id: (0x[0-9a-f]+)",
                         subprocess.run(["xwininfo", "-root"], capture_output=True, text=True,
                                        check=True).stdout).group(1)
        xdotool("windowfocus", "--sync", str(int(root, 16)))
        for _ in range(10):
            window.poll()
            time.sleep(0.02)
        assert window.fullscreen and window.size == (1920, 1080) and not window.closed
    finally:
        window.release()
