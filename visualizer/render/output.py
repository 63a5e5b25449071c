"""Where frames go: the Output protocol, the headless (EGL) output, and the factory for both.

The renderer draws into ``output.target()`` and calls ``output.present()``; it does not know
whether a window or an offscreen framebuffer is behind it, so ``--headless`` runs the same
pipeline as the window.
"""

from __future__ import annotations

import ctypes
import time
from typing import TYPE_CHECKING, Protocol

import numpy as np

from visualizer.core.errors import GansmaniaError

if TYPE_CHECKING:
    import moderngl

    from visualizer.settings import DisplaySettings

# Key names the window reports (see visualizer.render.window); the app routes them.
KEYS = ("f", "h", "r", "1", "2", "3", "4", "5", "6", "7", "8", "9", "space", "left", "right", "escape")


class Output(Protocol):
    """A GL context plus a framebuffer that is shown (or kept) when presented."""

    ctx: moderngl.Context

    @property
    def size(self) -> tuple[int, int]:
        """Framebuffer size (W, H), pixels; changes when a window is resized."""

    def target(self) -> moderngl.Framebuffer:
        """The framebuffer to draw the finished frame into; its viewport covers :attr:`size`
        (a window's default framebuffer may report a stale ``.size``: go by :attr:`size`)."""

    def present(self) -> float:
        """Show the frame; returns ``time.monotonic()`` once it is presented (swap + finish)."""

    def poll(self) -> list[str]:
        """Process window events; the key names (from :data:`KEYS`) pressed since the last poll."""

    @property
    def closed(self) -> bool:
        """True once the user closed the window (headless: never)."""

    def release(self) -> None: ...


def egl_context() -> moderngl.Context:
    """A standalone GL 3.3+ context on EGL: no display needed (Mesa llvmpipe without a GPU)."""
    import moderngl

    try:
        return moderngl.create_standalone_context(require=330, backend="egl")
    except Exception as exc:  # moderngl raises bare Exception subclasses from its loaders
        raise GansmaniaError(f"headless OpenGL (EGL) is not available: {exc}; install libegl1 and "
                             "libegl-mesa0 (or an NVIDIA driver)") from None


class HeadlessOutput:
    """Renders into an offscreen framebuffer of ``size`` (W, H); frames can be read back."""

    def __init__(self, size: tuple[int, int], *, ctx: moderngl.Context | None = None) -> None:
        self._owns_ctx = ctx is None
        self.ctx = egl_context() if ctx is None else ctx
        self._framebuffer: moderngl.Framebuffer | None = None
        self.resize(size)

    @property
    def size(self) -> tuple[int, int]:
        assert self._framebuffer is not None
        return self._framebuffer.size

    def resize(self, size: tuple[int, int]) -> None:
        """Change the output size (as a window resize would)."""
        if self._framebuffer is not None:
            self._framebuffer.color_attachments[0].release()
            self._framebuffer.release()
        self._framebuffer = self.ctx.framebuffer(
            color_attachments=[self.ctx.renderbuffer((int(size[0]), int(size[1])), 4)])

    def target(self) -> moderngl.Framebuffer:
        assert self._framebuffer is not None
        return self._framebuffer

    def present(self) -> float:
        # Nothing is shown, so "presented" means the GPU finished drawing it.
        self.ctx.finish()
        return time.monotonic()

    def poll(self) -> list[str]:
        return []

    @property
    def closed(self) -> bool:
        return False

    def read(self) -> np.ndarray:
        """The last frame drawn into the target (HUD included): uint8 (H, W, 3), top row first."""
        return read_framebuffer(self.target())

    def release(self) -> None:
        if self._framebuffer is not None:
            self._framebuffer.color_attachments[0].release()
            self._framebuffer.release()
            self._framebuffer = None
        if self._owns_ctx:
            self.ctx.release()
            unbind_egl_context()


def unbind_egl_context() -> None:
    """Make no EGL context current on this thread.

    libglvnd lets a thread have one API's context current at a time: while an EGL context is
    current (moderngl leaves a standalone one current, even after release), making a GLX
    context current fails with BadAccess and Xlib exits the process. Windows call this first.
    """
    try:
        egl = ctypes.CDLL("libEGL.so.1")
    except OSError:
        return  # no EGL on this system: nothing can be current
    egl.eglGetCurrentContext.restype = ctypes.c_void_p
    if not egl.eglGetCurrentContext():
        return
    egl.eglGetCurrentDisplay.restype = ctypes.c_void_p
    egl.eglMakeCurrent.argtypes = [ctypes.c_void_p] * 4
    egl.eglMakeCurrent(egl.eglGetCurrentDisplay(), None, None, None)


def read_framebuffer(framebuffer: moderngl.Framebuffer, size: tuple[int, int] | None = None) -> np.ndarray:
    """``framebuffer``'s colour as uint8 (H, W, 3), top row first.

    ``size`` (W, H) overrides the framebuffer's own size (a window's default framebuffer).
    """
    width, height = size or framebuffer.size
    data = framebuffer.read(viewport=(0, 0, width, height), components=3, alignment=1)
    return np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)[::-1].copy()


def open_output(display: DisplaySettings, *, title: str = "GANsmania") -> Output:
    """The output ``display`` asks for: headless EGL, or a glfw window (fullscreen or not)."""
    if display.headless:
        return HeadlessOutput(display.size)
    from visualizer.render.window import WindowOutput

    return WindowOutput(display.size, title=title, fullscreen=display.fullscreen,
                        monitor=display.monitor, vsync=display.vsync)
