"""`CleanWindow`: the performer view's second window, the picture the audience sees (no HUD).

The rig: the performer window (`visualizer.render.window`) on the laptop's screen shows the
picture with the HUD and takes the keys; this window, fullscreen on the projector (or a window of
its own size), shows the finished frame with the master gain, blackout and freeze, as the
recording has it, and never the HUD.

Its GL context shares objects with the performer window's, so the chain's result texture is
drawn here directly, never copied through the CPU. Textures, buffers and programs are shared
between the two contexts; vertex arrays and framebuffers are not, so this window has its own
program and vertex array, made and released while its context is current. Making it current
flushes the performer context (GLX and EGL both flush on a context switch), which is what lets
this context see the frame the other one just drew.

The picture comes at the FX size of the performer window's frame (as the recording does) and is
scaled to this window; a window of another aspect meets it by display.fit.

Only one swap waits for the refresh: two vsynced swaps in a row can each wait for a vblank of
their own and halve the display rate. The one that waits is this window's: the audience never
sees tearing, the performer's screen may.

Rules: keys pressed here act as in the performer window (a window opening fullscreen may take
the focus; the keyboard must not go dead), Esc included. The window manager's close is refused:
an audience window closed by a stray click would put the desktop on the projector. The show
ends from the performer window (Esc in either window, or closing the performer window). It does
not iconify when it loses the focus.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from visualizer.core.errors import GansmaniaError
from visualizer.render.monitors import find_monitor
from visualizer.render.passes import compile_program
from visualizer.render.source import FITS, fit_scale

if TYPE_CHECKING:
    import moderngl

log = logging.getLogger(__name__)

_DRAW = """#version 330
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_image;
uniform float u_gain;  // master intensity, as the renderer's present applies it
uniform vec2 u_scale;  // fit: the part of the image the window spans, around its centre
void main() {
    vec2 uv = (v_uv - 0.5) * u_scale + 0.5;
    bool inside = all(greaterThanEqual(uv, vec2(0.0))) && all(lessThanEqual(uv, vec2(1.0)));
    f_color = vec4(inside ? texture(u_image, uv).rgb * u_gain : vec3(0.0), 1.0);
}
"""

KeyCallback = Callable[[Any, int, int, int, int], None]  # glfw's: (window, key, scancode, action, mods)


class CleanWindow:
    """A glfw window sharing ``share``'s GL objects: fullscreen on ``monitor`` at its native mode,
    or a window of ``size`` (W, H) centred on it.

    Made while ``share``'s context is current, which it is again after every call. ``fit``:
    how a frame of another aspect meets the window (one of FITS, as display.fit). ``on_key``:
    glfw's key callback for this window (the performer window's, so keys act the same).
    """

    def __init__(self, share: Any, *, monitor: int, size: tuple[int, int] | None = None,
                 fit: str = "fill", vsync: bool = True, title: str = "GANsmania (clean)",
                 on_key: KeyCallback | None = None) -> None:
        import glfw
        import moderngl

        if fit not in FITS:
            raise ValueError(f"fit must be one of {FITS}, got {fit!r}")
        handle = find_monitor(monitor, key="display.clean_monitor")
        mode = glfw.get_video_mode(handle)
        self.monitor = monitor
        self.fit = fit
        self._share = share
        glfw.window_hint(glfw.AUTO_ICONIFY, False)  # a focus change must not blank the projector
        glfw.window_hint(glfw.FOCUSED, False)
        glfw.window_hint(glfw.FOCUS_ON_SHOW, False)
        # The monitor's own mode: no mode switch (Xvfb reports no rate: any will do).
        glfw.window_hint(glfw.REFRESH_RATE, mode.refresh_rate or glfw.DONT_CARE)
        try:
            if size is None:
                self.window = glfw.create_window(mode.size.width, mode.size.height, title, handle, share)
            else:
                self.window = glfw.create_window(int(size[0]), int(size[1]), title, None, share)
        except glfw.GLFWError as exc:
            raise GansmaniaError(f"cannot open the clean view on monitor {monitor}: {exc}") from None
        if size is not None:
            x, y = glfw.get_monitor_pos(handle)
            try:  # centred on its monitor; where the platform places windows itself, there
                glfw.set_window_pos(self.window, x + max(0, (mode.size.width - int(size[0])) // 2),
                                    y + max(0, (mode.size.height - int(size[1])) // 2))
            except glfw.GLFWError as exc:
                log.debug("could not place the clean view: %s", exc)
        glfw.make_context_current(self.window)
        try:
            glfw.swap_interval(1 if vsync else 0)
            self.ctx = moderngl.create_context(require=330)  # this window's own: detects the current one
            self._program = compile_program(self.ctx, _DRAW, path="<clean view>")
            self._program["u_image"].value = 0
            self._vao = self.ctx.vertex_array(self._program, [])
        except Exception:
            glfw.make_context_current(share)
            glfw.destroy_window(self.window)
            raise
        glfw.make_context_current(share)
        self._screen_size = (0, 0)
        self._refused_close = False
        glfw.set_input_mode(self.window, glfw.CURSOR, glfw.CURSOR_HIDDEN)
        if on_key is not None:
            glfw.set_key_callback(self.window, on_key)
        log.info("clean view on monitor %d: %s (the monitor: %dx%d at %d Hz)", monitor,
                 "fullscreen" if size is None else f"a {size[0]}x{size[1]} window",
                 mode.size.width, mode.size.height, mode.refresh_rate)

    @property
    def size(self) -> tuple[int, int]:
        """Framebuffer size (W, H), pixels."""
        import glfw

        width, height = glfw.get_framebuffer_size(self.window)
        return (max(1, width), max(1, height))

    @property
    def fullscreen(self) -> bool:
        import glfw

        return bool(glfw.get_window_monitor(self.window))  # ctypes: NULL is falsy, not None

    @property
    def refresh_hz(self) -> float | None:
        """Its monitor's refresh rate (what its vsynced swap waits for); None when unknown."""
        import glfw

        handles = glfw.get_monitors() or []
        mode = glfw.get_video_mode(handles[self.monitor]) if self.monitor < len(handles) else None
        return float(mode.refresh_rate) if mode and mode.refresh_rate > 0 else None

    def show(self, image: moderngl.Texture, *, gain: float) -> None:
        """Draw ``image`` (the finished frame without the HUD, any size; a texture of the shared
        context) at master ``gain`` (0 black .. 1) to fill the window by :attr:`fit`, and swap."""
        import glfw
        import moderngl

        glfw.make_context_current(self.window)
        try:
            size = self.size
            screen = self.ctx.screen  # its .size stays the creation size; the viewport follows
            if self._screen_size != size:
                screen.viewport = (0, 0, *size)
                self._screen_size = size
            screen.use()
            if gain <= 0.0:
                screen.clear(0.0, 0.0, 0.0, 1.0)
            else:
                image.use(0)  # binds the shared texture in this (current) context
                self._program["u_gain"].value = min(float(gain), 1.0)
                self._program["u_scale"].value = fit_scale(self.fit, image=image.size, output=size)
                self._vao.render(moderngl.TRIANGLES, vertices=3)
            glfw.swap_buffers(self.window)
            self.ctx.finish()  # the frame is out (with vsync: after the flip) when the stamp is taken
        finally:
            glfw.make_context_current(self._share)

    def refuse_close(self) -> None:
        """Undo a close request from the window manager (see the module doc); call after polling."""
        import glfw

        if not glfw.window_should_close(self.window):
            return
        glfw.set_window_should_close(self.window, False)
        if not self._refused_close:
            log.info("the clean view stays open: the show ends with Esc or by closing the "
                     "performer window")
            self._refused_close = True

    def release(self) -> None:
        import glfw

        glfw.make_context_current(self.window)  # its vertex array exists in its context only
        try:
            self._vao.release()
            self._program.release()
            self.ctx.release()
        finally:
            glfw.make_context_current(self._share)
            glfw.destroy_window(self.window)
