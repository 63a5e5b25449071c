"""The glfw window output: windowed or fullscreen on monitor N at its native mode, keys as names.

glfw must be driven from the main thread (event polling, window changes), so the render loop
that owns a WindowOutput runs there.
"""

from __future__ import annotations

import collections
import logging
import time
from typing import TYPE_CHECKING

from visualizer.core.errors import GansmaniaError
from visualizer.render.headless import unbind_egl_context
from visualizer.render.monitors import has_display

if TYPE_CHECKING:
    import moderngl

log = logging.getLogger(__name__)

_MAX_QUEUED_KEYS = 64  # a stuck app must not grow the queue without bound


def _key_names() -> dict[int, str]:
    import glfw

    names = {glfw.KEY_F: "f", glfw.KEY_H: "h", glfw.KEY_R: "r", glfw.KEY_SPACE: "space",
             glfw.KEY_LEFT: "left", glfw.KEY_RIGHT: "right", glfw.KEY_ESCAPE: "escape"}
    names.update({getattr(glfw, f"KEY_{digit}"): str(digit) for digit in range(1, 10)})
    return names


_REPEATING = ("left", "right")  # holding an arrow keeps stepping seeds; other keys act once


class WindowOutput:
    """A glfw window with a GL 3.3 core context; see :class:`visualizer.render.output.Output`."""

    def __init__(self, size: tuple[int, int], *, title: str = "GANsmania", fullscreen: bool = False,
                 monitor: int = 0, vsync: bool = True) -> None:
        import glfw
        import moderngl

        if not has_display():
            raise GansmaniaError("no display (DISPLAY/WAYLAND_DISPLAY unset): use --headless, "
                                 "or run under a desktop session or Xvfb")
        unbind_egl_context()
        glfw.ERROR_REPORTING = "raise"  # a failure here must stop with its reason, not return None
        try:
            glfw.init()
            # Fullscreen on a stage, the focus moves elsewhere (the other monitor, a mixer's
            # app): the picture must stay. glfw's default iconifies it, and without an
            # EWMH window manager fails doing so, raising from poll_events and ending the show.
            glfw.window_hint(glfw.AUTO_ICONIFY, False)
            glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
            glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
            glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
            glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)  # macOS only gives core this way
            glfw.window_hint(glfw.RESIZABLE, True)
            self._window = glfw.create_window(int(size[0]), int(size[1]), title, None, None)
        except glfw.GLFWError as exc:
            glfw.terminate()
            raise GansmaniaError(f"cannot open an OpenGL 3.3 window: {exc}") from None
        glfw.make_context_current(self._window)
        glfw.swap_interval(1 if vsync else 0)
        self.vsync = vsync
        self.ctx = moderngl.create_context(require=330)
        self.monitor = monitor
        self._keys: collections.deque[str] = collections.deque(maxlen=_MAX_QUEUED_KEYS)
        self._names = _key_names()
        self._windowed_rect = (*glfw.get_window_pos(self._window), int(size[0]), int(size[1]))
        self._screen_size = (0, 0)
        glfw.set_key_callback(self._window, self._on_key)
        if fullscreen:
            self.set_fullscreen(True)

    # ------------------------------------------------------------------ Output protocol

    @property
    def size(self) -> tuple[int, int]:
        import glfw

        width, height = glfw.get_framebuffer_size(self._window)
        return (max(1, width), max(1, height))  # minimised windows report 0x0

    def target(self) -> moderngl.Framebuffer:
        # moderngl's default framebuffer keeps the size it had when the context was made; only
        # its viewport follows the window, so users of it must go by `self.size`, not its .size.
        size = self.size
        if self._screen_size != size:
            self.ctx.screen.viewport = (0, 0, *size)
            self._screen_size = size
        return self.ctx.screen

    def present(self) -> float:
        import glfw

        glfw.swap_buffers(self._window)
        # Finish after the swap so the stamp is taken once the frame is queued for scan-out
        # (with vsync, after the flip); latency measured from it is not flattered.
        self.ctx.finish()
        return time.monotonic()

    def poll(self) -> list[str]:
        import glfw

        glfw.poll_events()
        keys = list(self._keys)
        self._keys.clear()
        return keys

    @property
    def closed(self) -> bool:
        import glfw

        return bool(glfw.window_should_close(self._window))

    def release(self) -> None:
        import glfw

        self.ctx.release()
        glfw.destroy_window(self._window)
        glfw.terminate()

    # ------------------------------------------------------------------ window controls

    @property
    def fullscreen(self) -> bool:
        import glfw

        return bool(glfw.get_window_monitor(self._window))  # ctypes: NULL is falsy, not None

    def set_fullscreen(self, on: bool, *, monitor: int | None = None) -> None:
        """Fullscreen on monitor ``monitor`` (default: the one given at creation) at its native mode."""
        import glfw

        if on == self.fullscreen and monitor in (None, self.monitor):
            return
        if on:
            monitors = glfw.get_monitors() or []
            index = self.monitor if monitor is None else monitor
            if not 0 <= index < len(monitors):
                raise GansmaniaError(f"monitor {index} not found; connected: 0..{len(monitors) - 1} "
                                     "(see `gansmania devices`)")
            if not self.fullscreen:
                self._windowed_rect = (*glfw.get_window_pos(self._window),
                                       *glfw.get_window_size(self._window))
            mode = glfw.get_video_mode(monitors[index])
            glfw.set_window_monitor(self._window, monitors[index], 0, 0, mode.size.width,
                                    mode.size.height, mode.refresh_rate)
            self.monitor = index
            log.info("fullscreen on monitor %d at %dx%d %d Hz", index, mode.size.width,
                     mode.size.height, mode.refresh_rate)
        else:
            x, y, width, height = self._windowed_rect
            glfw.set_window_monitor(self._window, None, x, y, width, height, 0)
        glfw.swap_interval(1 if self.vsync else 0)  # some drivers reset it with the mode

    def toggle_fullscreen(self) -> None:
        self.set_fullscreen(not self.fullscreen)

    def request_close(self) -> None:
        import glfw

        glfw.set_window_should_close(self._window, True)

    def _on_key(self, window: object, key: int, scancode: int, action: int, mods: int) -> None:
        import glfw

        name = self._names.get(key)
        if name is None:
            return
        if action == glfw.PRESS or (action == glfw.REPEAT and name in _REPEATING):
            self._keys.append(name)
