"""The glfw window output: windowed or fullscreen on monitor N at its native mode, keys as names;
with a clean view (`visualizer.render.clean`), the performer window of a two-window rig.

glfw must be driven from the main thread (event polling, window changes), so the render loop
that owns a WindowOutput runs there.
"""

from __future__ import annotations

import collections
import logging
import time
from typing import TYPE_CHECKING

from visualizer.core.errors import GansmaniaError
from visualizer.render.clean import CleanWindow
from visualizer.render.headless import unbind_egl_context
from visualizer.render.monitors import find_monitor, has_display

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
    """A glfw window with a GL 3.3 core context; see :class:`visualizer.render.output.Output`.

    ``clean_monitor``: also open the clean view there (:attr:`clean`, fullscreen, or a window of
    ``clean_size``; ``clean_fit`` as display.fit); this window then swaps without waiting for
    the refresh and the clean view's swap does (``vsync``), so two waits never halve the rate.
    """

    def __init__(self, size: tuple[int, int], *, title: str = "GANsmania", fullscreen: bool = False,
                 monitor: int = 0, vsync: bool = True, clean_monitor: int | None = None,
                 clean_size: tuple[int, int] | None = None, clean_fit: str = "fill") -> None:
        import glfw
        import moderngl

        if not has_display():
            raise GansmaniaError("no display (DISPLAY/WAYLAND_DISPLAY unset): use --headless, "
                                 "or run under a desktop session or Xvfb")
        unbind_egl_context()
        glfw.ERROR_REPORTING = "raise"  # a failure here must stop with its reason, not return None
        try:
            glfw.init()
            if clean_monitor is not None:
                find_monitor(clean_monitor, key="display.clean_monitor")  # before any window opens
            # Fullscreen on a stage, the focus moves elsewhere (the other monitor, the clean view,
            # a mixer's app): the picture must stay. glfw's default iconifies it, and without an
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
        except GansmaniaError:
            glfw.terminate()
            raise
        glfw.make_context_current(self._window)
        self.vsync = vsync
        self._interval = 1 if vsync and clean_monitor is None else 0
        glfw.swap_interval(self._interval)
        self.ctx = moderngl.create_context(require=330)
        self.monitor = monitor
        self._keys: collections.deque[str] = collections.deque(maxlen=_MAX_QUEUED_KEYS)
        self._names = _key_names()
        self._windowed_rect = (*glfw.get_window_pos(self._window), int(size[0]), int(size[1]))
        self._screen_size = (0, 0)
        glfw.set_key_callback(self._window, self._on_key)
        self.clean: CleanWindow | None = None
        try:
            if clean_monitor is not None:
                self.clean = CleanWindow(self._window, monitor=clean_monitor, size=clean_size,
                                         fit=clean_fit, vsync=vsync, title=f"{title} (clean)",
                                         on_key=self._on_key)
                try:
                    glfw.focus_window(self._window)  # the keyboard stays with the performer
                except glfw.GLFWError as exc:  # a platform without it: keys work in both anyway
                    log.debug("could not give the performer window the focus: %s", exc)
            if fullscreen:
                self.set_fullscreen(True)
        except Exception:
            self.release()
            raise

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
        if self.clean is not None:
            self.clean.refuse_close()
        keys = list(self._keys)
        self._keys.clear()
        return keys

    @property
    def closed(self) -> bool:
        import glfw

        return bool(glfw.window_should_close(self._window))

    def release(self) -> None:
        import glfw

        if self.clean is not None:
            self.clean.release()
            self.clean = None
        self.ctx.release()
        glfw.destroy_window(self._window)
        glfw.terminate()

    @property
    def refresh_hz(self) -> float | None:
        """The rate a vsynced show runs at: the clean view's monitor's refresh when there is one
        (its swap is the one that waits), else the primary monitor's; None when unknown (Xvfb)."""
        import glfw

        if self.clean is not None:
            return self.clean.refresh_hz
        monitor = glfw.get_primary_monitor()
        mode = glfw.get_video_mode(monitor) if monitor else None
        return float(mode.refresh_rate) if mode and mode.refresh_rate > 0 else None

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
            index = self.monitor if monitor is None else monitor
            handle = find_monitor(index, key="display.monitor")
            if self.clean is not None and self.clean.fullscreen and self.clean.monitor == index:
                raise GansmaniaError(f"monitor {index} shows the clean view fullscreen: the "
                                     "performer window goes fullscreen on another (display.monitor)")
            if not self.fullscreen:
                self._windowed_rect = (*glfw.get_window_pos(self._window),
                                       *glfw.get_window_size(self._window))
            mode = glfw.get_video_mode(handle)
            glfw.set_window_monitor(self._window, handle, 0, 0, mode.size.width,
                                    mode.size.height, mode.refresh_rate)
            self.monitor = index
            log.info("fullscreen on monitor %d at %dx%d %d Hz", index, mode.size.width,
                     mode.size.height, mode.refresh_rate)
        else:
            x, y, width, height = self._windowed_rect
            glfw.set_window_monitor(self._window, None, x, y, width, height, 0)
        glfw.swap_interval(self._interval)  # some drivers reset it with the mode

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
