"""The headless output: an offscreen framebuffer on a standalone EGL context (no display
needed), and the GL helpers the window shares with it."""

from __future__ import annotations

import ctypes
import time
from typing import TYPE_CHECKING

import numpy as np

from visualizer.core.errors import GansmaniaError

if TYPE_CHECKING:
    import moderngl


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

    clean = None  # no clean view: that is a second window

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
